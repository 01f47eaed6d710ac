"""Data: the toy generators and their registry, the train/validation split, and the CSV upload parser."""
