"""The weighted routing game of the full paper: oracle, classical certificates and
envelope, polynomial quantum angles, frontier and noise-aware mixing."""
