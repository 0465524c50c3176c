"""Engines supply pairs to decisions: the analytic engine (numpy sampling of the link
predictions) and the SeQUeNCe engine (photon-level, through ``nodes/`` and ``protocols/``)."""
