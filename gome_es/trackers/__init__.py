"""Exports of gome runs to the experiment trackers labs already run (MLflow: :mod:`.mlflow`)."""
