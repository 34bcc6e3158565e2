"""Feature packages: the logic of each feature, without Matrix I/O."""
