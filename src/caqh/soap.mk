# src/caqh/soap.mk: filled by its part (see src/caqh/local.mk).
