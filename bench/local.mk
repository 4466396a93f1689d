# Server benchmark programs (scripts/bench-server).  Included from
# Makefile.am after noinst_PROGRAMS is first set.
#   bench/floor       the transport floor: a one-loop libuv server that
#                     answers every wrapped request with a fixed payload
#   bench/closedloop  a plain blocking-socket closed-loop client (and an
#                     idle-socket holder), independent of hets-load
noinst_PROGRAMS += bench/floor bench/closedloop
bench_floor_SOURCES = bench/floor.c
bench_floor_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS)
bench_floor_LDADD = $(UV_LIBS)
bench_closedloop_SOURCES = bench/closedloop.c
bench_closedloop_CFLAGS = $(AM_CFLAGS)
