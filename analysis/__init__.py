"""hubtree analyses: read the store, never the network (graph, licensing, growth, deployment, reports)."""
