/* openhetsd settings: the option table read the same way from the file and
 * from the command line (bounds, defaults, messages), listener and TLS
 * objects, unknown keys. */
#define _GNU_SOURCE 1
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static char tmpdir[] = "/tmp/ohets-config.XXXXXX";

static const char *write_file(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Runs the command line (NULL-terminated) with its problems. */
static ohets_srv_cli_result run_args(ohets_srv_config *cfg, ohets_srv_problems *p, ...) {
  char *argv[32];
  int argc = 0;
  va_list ap;
  va_start(ap, p);
  argv[argc++] = (char *)"openhetsd";
  for (char *a; (a = va_arg(ap, char *)) != NULL;)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  memset(p, 0, sizeof *p);
  return ohets_srv_config_from_args(argc, argv, cfg, p);
}

static int has_problem(const ohets_srv_problems *p, const char *text) {
  for (unsigned i = 0; i < p->n; i++)
    if (strstr(p->line[i], text) != NULL)
      return 1;
  return 0;
}

START_TEST(defaults_are_design_11) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  ck_assert_int_eq(run_args(&cfg, &p, NULL), OHETS_SRV_CLI_RUN);
  ck_assert_uint_eq(p.n, 0);
  ck_assert_uint_eq(cfg.n_listen, 1);
  ck_assert_str_eq(cfg.listen[0].host, "127.0.0.1");
  ck_assert_int_eq(cfg.listen[0].port, 5270);
  ck_assert_int_eq(cfg.listen[0].framing, OHETS_FRAMING_HETS);
  ck_assert_uint_eq(cfg.idle_timeout_ms, 5000);
  ck_assert_uint_eq(cfg.frame_deadline_ms, 30000);
  ck_assert_uint_eq(cfg.max_frame_bytes, 65536);
  ck_assert_str_eq(cfg.db, "openhets.db");
  ck_assert_str_eq(cfg.log, "-");
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  ck_assert_uint_eq(cfg.workers, cores > 0 ? (unsigned)cores : 1);
  ohets_srv_config_free(&cfg);
}
END_TEST

/* Each integer setting: its bounds hold alike in the file and as a flag. */
static const struct bound_case {
  const char *key, *flag, *lo_bad, *lo_ok, *hi_ok, *hi_bad;
} bounds[] = {
    {"workers", "--workers", NULL, "0", "1024", "1025"},
    {"idle_timeout_ms", "--idle-timeout-ms", "0", "1", "86400000", "86400001"},
    {"frame_deadline_ms", "--frame-deadline-ms", "0", "1", "86400000", "86400001"},
    {"max_frame_bytes", "--max-frame-bytes", "105", "106", "67108864", "67108865"},
    {"max_body_bytes", "--max-body-bytes", "1023", "1024", "67108864", "67108865"},
    {"queue_budget_ms", "--queue-budget-ms", "0", "1", "86400000", "86400001"},
    {"max_connections", "--max-connections", "0", "1", "1000000", "1000001"},
    {"max_pipeline", "--max-pipeline", "0", "1", "1024", "1025"},
    {"max_jobs", "--max-jobs", "0", "1", "1000000", "1000001"},
    {"log_queue", "--log-queue", "15", "16", "10000000", "10000001"},
    {"shutdown_timeout_ms", "--shutdown-timeout-ms", "0", "1", "86400000", "86400001"},
};

static void expect_value(const struct bound_case *b, const char *value, int ok) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  char json[256], name[64];
  snprintf(json, sizeof json, "{\"%s\": %s}", b->key, value);
  snprintf(name, sizeof name, "%s.json", b->key);
  const char *file = write_file(name, json);
  run_args(&cfg, &p, "-c", file, NULL);
  ck_assert_msg((p.n == 0) == ok, "file %s=%s: %u problems (%s)", b->key, value, p.n,
                p.n ? p.line[0] : "");
  if (!ok)
    ck_assert_msg(has_problem(&p, b->key), "file problem does not name %s: %s", b->key,
                  p.line[0]);
  ohets_srv_config_free(&cfg);
  run_args(&cfg, &p, b->flag, value, NULL);
  ck_assert_msg((p.n == 0) == ok, "flag %s %s: %u problems (%s)", b->flag, value, p.n,
                p.n ? p.line[0] : "");
  if (!ok)
    ck_assert_msg(has_problem(&p, b->flag), "flag problem does not name %s: %s", b->flag,
                  p.line[0]);
  ohets_srv_config_free(&cfg);
}

START_TEST(bounds_same_in_file_and_flag) {
  const struct bound_case *b = &bounds[_i];
  if (b->lo_bad)
    expect_value(b, b->lo_bad, 0);
  expect_value(b, b->lo_ok, 1);
  expect_value(b, b->hi_ok, 1);
  expect_value(b, b->hi_bad, 0);
}
END_TEST

START_TEST(flags_override_file_whatever_order) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  const char *file = write_file("order.json", "{\"idle_timeout_ms\": 700, \"max_jobs\": 9}");
  run_args(&cfg, &p, "--idle-timeout-ms", "300", "-c", file, NULL);
  ck_assert_uint_eq(p.n, 0);
  ck_assert_uint_eq(cfg.idle_timeout_ms, 300);
  ck_assert_uint_eq(cfg.max_jobs, 9);
  ohets_srv_config_free(&cfg);
}
END_TEST

START_TEST(unknown_and_wrong_keys_named) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  const char *file = write_file(
      "bad.json", "{\"idle_timeout\": 5, \"db\": 3, \"today\": \"2026-13-01\", \"user\": \"\","
                  "\"listen\": [{\"host\": \"localhost\", \"port\": 1, \"tls\": {\"cert\": \"c\","
                  "\"key\": \"k\", \"client_cert\": \"required\", \"extra\": 1}}]}");
  run_args(&cfg, &p, "-c", file, NULL);
  ck_assert(has_problem(&p, "\"idle_timeout\": unknown key"));
  ck_assert(has_problem(&p, "\"db\": must be a non-empty path"));
  ck_assert(has_problem(&p, "\"today\": must be a date"));
  ck_assert(has_problem(&p, "\"user\": must be a name"));
  ck_assert(has_problem(&p, "\"listen\"[0].\"host\": must be a numeric"));
  ck_assert(has_problem(&p, "\"tls\".\"extra\": unknown key"));
  ck_assert(has_problem(&p, "\"client_cert\": needs \"ca\""));
  ck_assert_uint_eq(p.n, 7);
  ohets_srv_config_free(&cfg);
}
END_TEST

START_TEST(tls_listener_read) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  const char *file = write_file(
      "tls.json", "{\"listen\": [{\"host\": \"127.0.0.1\", \"port\": 0},"
                  "{\"host\": \"::1\", \"port\": 0, \"tls\": {\"cert\": \"s.pem\", \"key\": "
                  "\"s.key\", \"ca\": \"ca.pem\", \"min_version\": \"1.3\"}},"
                  "{\"host\": \"127.0.0.1\", \"port\": 0, \"tls\": {\"cert\": \"s.pem\", "
                  "\"key\": \"s.key\"}}]}");
  run_args(&cfg, &p, "-c", file, NULL);
  ck_assert_msg(p.n == 0, "%s", p.line[0]);
  ck_assert_uint_eq(cfg.n_listen, 3);
  ck_assert_ptr_null(cfg.listen[0].tls);
  ck_assert_ptr_nonnull(cfg.listen[1].tls);
  ck_assert_str_eq(cfg.listen[1].tls->ca, "ca.pem");
  /* With a CA the default is to require a client certificate. */
  ck_assert_int_eq(cfg.listen[1].tls->client_cert, OHETS_SRV_CLIENT_CERT_REQUIRED);
  ck_assert_int_eq(cfg.listen[1].tls->min_version, 13);
  ck_assert_int_eq(cfg.listen[2].tls->client_cert, OHETS_SRV_CLIENT_CERT_NONE);
  ck_assert_int_eq(cfg.listen[2].tls->min_version, 12);
  ohets_srv_config_free(&cfg);
}
END_TEST

/* DESIGN §13: "protocol": "core" needs tls; core listeners idle 60 s unless
 * they say otherwise, Extranet ones take the global setting. */
START_TEST(core_listener_read) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  const char *file = write_file(
      "core.json", "{\"idle_timeout_ms\": 4000, \"listen\": ["
                   "{\"host\": \"127.0.0.1\", \"port\": 0},"
                   "{\"host\": \"127.0.0.1\", \"port\": 0, \"protocol\": \"core\","
                   " \"tls\": {\"cert\": \"s.pem\", \"key\": \"s.key\"}},"
                   "{\"host\": \"127.0.0.1\", \"port\": 0, \"protocol\": \"core\","
                   " \"idle_timeout_ms\": 250, \"tls\": {\"cert\": \"s.pem\", \"key\": \"s.key\"}}]}");
  run_args(&cfg, &p, "-c", file, NULL);
  ck_assert_msg(p.n == 0, "%s", p.line[0]);
  ck_assert_int_eq(cfg.listen[0].protocol, OHETS_SRV_PROTOCOL_EXTRANET);
  ck_assert_int_eq(cfg.listen[1].protocol, OHETS_SRV_PROTOCOL_CORE);
  ck_assert_uint_eq(ohets_srv_listener_idle_ms(&cfg, &cfg.listen[0]), 4000);
  ck_assert_uint_eq(ohets_srv_listener_idle_ms(&cfg, &cfg.listen[1]), 60000);
  ck_assert_uint_eq(ohets_srv_listener_idle_ms(&cfg, &cfg.listen[2]), 250);
  ck_assert_uint_eq(cfg.max_body_bytes, 1048576);
  ohets_srv_config_free(&cfg);

  file = write_file("core-bad.json",
                    "{\"listen\": [{\"host\": \"127.0.0.1\", \"port\": 0, \"protocol\": \"core\"},"
                    "{\"host\": \"127.0.0.1\", \"port\": 0, \"protocol\": \"http2\"},"
                    "{\"host\": \"127.0.0.1\", \"port\": 0, \"protocol\": \"core\", \"framing\": "
                    "\"raw\", \"idle_timeout_ms\": 0, \"tls\": {\"cert\": \"s\", \"key\": \"k\"}}]}");
  run_args(&cfg, &p, "-c", file, NULL);
  ck_assert(has_problem(&p, "\"listen\"[0]: \"protocol\": \"core\" needs \"tls\""));
  ck_assert(has_problem(&p, "\"listen\"[1].\"protocol\": must be \"extranet\" or \"core\""));
  ck_assert(has_problem(&p, "\"listen\"[2].\"framing\": not for a \"core\" listener"));
  ck_assert(has_problem(&p, "\"listen\"[2].\"idle_timeout_ms\": must be an integer"));
  ck_assert_uint_eq(p.n, 4);
  ohets_srv_config_free(&cfg);
}
END_TEST

START_TEST(usage_errors) {
  ohets_srv_config cfg;
  ohets_srv_problems p;
  FILE *saved = stderr;
  stderr = fopen("/dev/null", "w");
  ck_assert_int_eq(run_args(&cfg, &p, "--no-such", NULL), OHETS_SRV_CLI_USAGE);
  ck_assert_int_eq(run_args(&cfg, &p, "--workers", NULL), OHETS_SRV_CLI_USAGE);
  ck_assert_int_eq(run_args(&cfg, &p, "stray", NULL), OHETS_SRV_CLI_USAGE);
  fclose(stderr);
  stderr = saved;
  ck_assert_int_eq(run_args(&cfg, &p, "--check-config", NULL), OHETS_SRV_CLI_CHECK);
  ohets_srv_config_free(&cfg);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("options");
  tcase_add_test(tc, defaults_are_design_11);
  tcase_add_loop_test(tc, bounds_same_in_file_and_flag, 0,
                      (int)(sizeof bounds / sizeof bounds[0]));
  tcase_add_test(tc, flags_override_file_whatever_order);
  tcase_add_test(tc, unknown_and_wrong_keys_named);
  tcase_add_test(tc, tls_listener_read);
  tcase_add_test(tc, core_listener_read);
  tcase_add_test(tc, usage_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  if (mkdtemp(tmpdir) == NULL) {
    perror("mkdtemp");
    return EXIT_FAILURE;
  }
  SRunner *sr = srunner_create(config_suite());
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    failed++;
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
