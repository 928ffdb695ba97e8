"""Running a batch elsewhere than on this machine's cores: optional engines behind extras."""
