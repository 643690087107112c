/* What a run attaches: a list of probes, each of one kind, each naming
 * the BPF program (a function of the tool's BPF text) it runs.  A plan
 * knows nothing of RocksDB or of any tool: tools and plan builders (the
 * RocksDB catalog, USDT notes) fill it; src/run.c builds and attaches
 * it. */
#ifndef CKBTRACE_PLAN_H
#define CKBTRACE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

enum probe_kind {
	PROBE_UPROBE,		/* entry of a function, or a USDT location */
	PROBE_URETPROBE,	/* return of a function */
	PROBE_TRACEPOINT,	/* category:name, from tracefs */
	PROBE_PERF,		/* a sampling perf event on every CPU */
};

struct plan_probe {
	enum probe_kind kind;
	char prog[64];		/* BPF function name */
	char what[128];		/* for messages: a symbol, "cat:name" */
	/* uprobes */
	char *path;		/* file to probe (owned) */
	uint64_t offset;	/* file offset */
	uint64_t ref_ctr;	/* USDT semaphore file offset, 0: none */
	/* tracepoints */
	char category[64], name[64];
	/* perf events */
	uint32_t type;
	uint64_t config, freq;
};

struct plan {
	int n, cap;
	struct plan_probe *v;
};

/* Add one probe.  0 or -errno (-ENOMEM, -ENAMETOOLONG). */
int plan_uprobe(struct plan *p, const char *prog, const char *path,
		uint64_t offset, bool ret, uint64_t ref_ctr, const char *what);
int plan_tracepoint(struct plan *p, const char *prog, const char *category,
		    const char *name);
int plan_perf(struct plan *p, const char *prog, uint32_t type,
	      uint64_t config, uint64_t freq);

/* The BPF program type a probe kind runs (BPF_PROG_TYPE_*). */
uint32_t probe_kind_prog_type(enum probe_kind k);

void plan_free(struct plan *p);

#endif
