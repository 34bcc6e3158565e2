"""Lean Coffee: collect topics, dot-vote, discuss each in a timebox, extend once, keep takeaways."""
