# src/caqh/wire.mk: filled by its part (see src/caqh/local.mk).
