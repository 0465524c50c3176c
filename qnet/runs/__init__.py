"""The main job: one scenario run end to end into a :class:`~qnet.runs.runner.RunRecord`."""
