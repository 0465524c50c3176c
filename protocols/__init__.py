"""SeQUeNCe protocols for qnet: entanglement supply and entanglement-assisted routing."""
