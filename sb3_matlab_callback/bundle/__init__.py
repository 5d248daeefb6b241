"""The bundle format between the stages: build, encode and read ``.mat`` bundles (format 1)."""
