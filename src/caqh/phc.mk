# src/caqh/phc.mk: filled by its part (see src/caqh/local.mk).
