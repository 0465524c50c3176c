"""SeQUeNCe node types for qnet's router and midpoint-station nodes."""
