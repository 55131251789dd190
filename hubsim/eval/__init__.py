"""Evaluation against ground truth, kept apart from production code (``analysis`` never imports it).

``world_store`` loads a world into a scratch store as a crawl would; ``inference`` measures lineage inference
(hidden declared parents, generated truth); ``real_sets`` builds the real evaluation sets of ``data/eval``;
``calibrate`` derives the rules' confidences from them; ``python -m hubsim.eval`` reproduces every figure of
docs/inference.md; ``mirrors`` scores cross-hub mirror links.
"""
