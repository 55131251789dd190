"""Evaluation against ground truth, kept apart from production code.

``world_store`` loads a world into a scratch store as a crawl would; ``inference`` measures lineage inference
(hidden declared parents, generated truth, real lineage sets); ``mirrors`` scores cross-hub mirror links.
"""
