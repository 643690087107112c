/* The command-line conventions every tool shares: usage errors (exit 2),
 * PIDs, seconds, signals and the privilege check. */
#ifndef CKBTRACE_CLI_H
#define CKBTRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "target.h"

#define EXIT_USAGE 2

/* "prog: <message>; see prog --help" on stderr, then exit 2. */
void usage_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* A process id, or usage_fail. */
pid_t cli_pid(const char *s);

/* Seconds > 0 (fractions allowed) for option what, or usage_fail. */
double cli_seconds(const char *what, const char *s);

/* The reporting options that interval tools share. */
struct cli_report {
	double interval;	/* -i, or the first positional (default 1) */
	double duration;	/* -d / --duration, 0: none */
	uint64_t count;		/* the second positional, 0: none */
	bool timestamp, json, hist, ebpf;
	double div;		/* 1e3 with -u (the default), 1e6 with -m */
	const char *unit;	/* "us" or "ms" */
};

/* Their long options, for a tool's getopt_long table; --duration is 'D'
 * (a tool may also give -d). */
#define CLI_REPORT_LONGS						\
	{ "interval", required_argument, NULL, 'i' },			\
	{ "duration", required_argument, NULL, 'D' },			\
	{ "timestamp", no_argument, NULL, 'T' },			\
	{ "milliseconds", no_argument, NULL, 'm' },			\
	{ "microseconds", no_argument, NULL, 'u' },			\
	{ "json", no_argument, NULL, 'j' },				\
	{ "histogram", no_argument, NULL, 'H' },			\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "ebpf", no_argument, NULL, 'E' },				\
	{ "help", no_argument, NULL, 'h' }

void cli_report_init(struct cli_report *r);

/* Take -i, -d or --duration, -T, -m, -u, -j, -H, -v, --ebpf and -h (which
 * prints usage and exits 0); any other option letter getopt returned is
 * bad usage (exit 2).  False when opt is the tool's own to handle. */
bool cli_report_opt(struct cli_report *r, int opt, const char *arg,
		    const char *usage, const char *own);

/* After the options: [interval [count]], and nothing more. */
void cli_report_args(struct cli_report *r, int argc, char **argv);

/* SIGINT, SIGTERM and SIGHUP call handler (resuming interrupted writes
 * when restart is set); SIGPIPE is ignored. */
void cli_signals(void (*handler)(int), bool restart);

/* Why a tracing loop started at begin_ns should end now: "target
 * exited" (the traced process is gone), "target exec" (it exec()ed
 * another program), "output closed" (stdout is a pipe nobody reads any
 * more), "duration" (duration seconds, 0 for none, have passed), or NULL
 * to go on. */
const char *run_over(const struct target *t, uint64_t begin_ns,
		     double duration);

/* fflush(stdout): 0, or -errno of the first write that failed (kept:
 * every later call returns it too). */
int out_flush(void);

/* The end of a tracing run stopped for reason (run_over's, "signal",
 * "count", ...): flushes stdout, prints the one line an output error or
 * the target's end calls for, and returns the exit status: 1 when the
 * output could not be written or the target exited or exec()ed, 0
 * otherwise (a closed pipe included, as `| head` expects). */
int run_end(const struct target *t, const char *reason);

/* 0 when this process may load BPF programs; else says so and -EPERM. */
int cli_privileged(void);

#endif
