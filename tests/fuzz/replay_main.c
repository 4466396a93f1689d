/* Replays fuzz inputs through a fuzz target without libFuzzer, so the
 * test suite runs the corpus with any compiler.
 *
 *   replay_frame FILE|DIR...
 *
 * Every file named, and every regular file inside a directory named, goes
 * through LLVMFuzzerTestOneInput once.  A target signals a failure by
 * aborting; this program fails when an input can't be read or there was
 * none. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, unsigned long *count) {
  int rc = -1;
  uint8_t *data = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    goto out;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
    fprintf(stderr, "replay: %s: cannot stat\n", path);
    goto out;
  }
  size_t size = (size_t)st.st_size;
  /* A real (non-NULL) pointer even for an empty input, as libFuzzer does. */
  data = malloc(size ? size : 1);
  if (data == NULL) {
    fprintf(stderr, "replay: %s: out of memory\n", path);
    goto out;
  }
  if (size > 0 && fread(data, 1, size, f) != size) {
    fprintf(stderr, "replay: %s: short read\n", path);
    goto out;
  }
  LLVMFuzzerTestOneInput(data, size);
  ++*count;
  rc = 0;
out:
  free(data);
  if (f != NULL)
    fclose(f);
  return rc;
}

static int replay_dir(const char *dir, unsigned long *count) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue; /* ., .. and hidden files */
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *path = malloc(n);
    if (path == NULL) {
      rc = -1;
      break;
    }
    snprintf(path, n, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, count) != 0)
      rc = -1;
    free(path);
  }
  closedir(d);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  unsigned long count = 0;
  int failed = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      failed = 1;
    } else if (S_ISDIR(st.st_mode)) {
      failed |= replay_dir(argv[i], &count) != 0;
    } else {
      failed |= replay_file(argv[i], &count) != 0;
    }
  }
  printf("replayed %lu inputs\n", count);
  if (count == 0) /* an empty or misnamed corpus would test nothing */
    failed = 1;
  return failed ? 1 : 0;
}
