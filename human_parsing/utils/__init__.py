"""Small shared helpers of the command-line tools."""
