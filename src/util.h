/* Small helpers every tool uses: messages, number parsing, clocks. */
#ifndef CKBTRACE_UTIL_H
#define CKBTRACE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Set once by main(); prefixes every message. */
extern const char *prog_name;
extern int verbose;

/* "prog: <text>\n" on stderr. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As msg(), only when -v was given. */
void vmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole decimal number in [min, max]; 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Decimal number of seconds (fractions allowed) in (0, max]. */
int parse_seconds(const char *s, double max, double *out);

uint64_t mono_ns(void);

/* Number of possible CPUs (the stride of per-CPU map values), or -errno. */
int cpus_possible(void);

/* 0 when this process may load BPF and open perf events, else -EPERM. */
int have_bpf_privileges(void);

/* Write all n bytes, resuming after EINTR and short writes: 0 or -errno
 * (-EIO when write() wrote nothing). */
int write_full(int fd, const void *p, size_t n);

/* Read a whole small file into buf (NUL-terminated); bytes read or -errno. */
ssize_t read_small_file(const char *path, char *buf, size_t len);

#endif
