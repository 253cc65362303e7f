"""Whole models: plans of every weight (path, shape, initializer, seed) and how to sample them.

* :mod:`initcli.model.plan` -- the plan data structures and sampling;
* :mod:`initcli.model.catalog` -- which weights each Keras layer class owns, in Keras's order;
* :mod:`initcli.model.batch_config` -- plans from initcli's batch config files (JSON, TOML, YAML);
* :mod:`initcli.model.keras_config` -- plans from Keras model configs (``to_json()`` or ``.keras``).
"""
