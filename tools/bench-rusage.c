// Preloaded into the launcher by tools/bench-up.sh: at exit, writes the process's own CPU time
// and peak RSS (getrusage RUSAGE_SELF: every thread, no child) to $BENCH_RUSAGE_OUT as
// "user_us sys_us maxrss_kib". GNU time cannot tell them apart from the Docker CLIs it runs.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static char output[4096];

// Taken out of the environment at once, so that no child (a Docker CLI) loads the library or
// writes the file.
__attribute__((constructor)) static void remember_output(void) {
  const char *path = getenv("BENCH_RUSAGE_OUT");
  if (path && strlen(path) < sizeof output) strcpy(output, path);
  unsetenv("BENCH_RUSAGE_OUT");
  unsetenv("LD_PRELOAD");
}

__attribute__((destructor)) static void report(void) {
  struct rusage usage;
  if (!output[0] || getrusage(RUSAGE_SELF, &usage) != 0) return;
  FILE *file = fopen(output, "w");
  if (!file) return;
  fprintf(file, "%ld %ld %ld\n", usage.ru_utime.tv_sec * 1000000L + usage.ru_utime.tv_usec,
          usage.ru_stime.tv_sec * 1000000L + usage.ru_stime.tv_usec, usage.ru_maxrss);
  fclose(file);
}
