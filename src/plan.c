#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static struct plan_probe *plan_new(struct plan *p, enum probe_kind kind,
				   const char *prog)
{
	struct plan_probe *v;

	if (strlen(prog) >= sizeof(v->prog))
		return NULL;
	if (p->n == p->cap) {
		v = realloc(p->v, sizeof(*v) * (size_t)(p->cap ? p->cap * 2 : 32));
		if (!v)
			return NULL;
		p->v = v;
		p->cap = p->cap ? p->cap * 2 : 32;
	}
	v = &p->v[p->n];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	strcpy(v->prog, prog);
	return v;
}

int plan_uprobe(struct plan *p, const char *prog, const char *path,
		uint64_t offset, bool ret, uint64_t ref_ctr, const char *what)
{
	struct plan_probe *v = plan_new(p, ret ? PROBE_URETPROBE : PROBE_UPROBE,
					prog);

	if (!v)
		return -ENOMEM;
	v->path = strdup(path);
	if (!v->path)
		return -ENOMEM;
	v->offset = offset;
	v->ref_ctr = ref_ctr;
	snprintf(v->what, sizeof(v->what), "%s", what);
	p->n++;
	return 0;
}

int plan_tracepoint(struct plan *p, const char *prog, const char *category,
		    const char *name)
{
	struct plan_probe *v = plan_new(p, PROBE_TRACEPOINT, prog);

	if (!v)
		return -ENOMEM;
	if (strlen(category) >= sizeof(v->category) ||
	    strlen(name) >= sizeof(v->name))
		return -ENAMETOOLONG;
	strcpy(v->category, category);
	strcpy(v->name, name);
	snprintf(v->what, sizeof(v->what), "%s:%s", category, name);
	p->n++;
	return 0;
}

int plan_perf(struct plan *p, const char *prog, uint32_t type,
	      uint64_t config, uint64_t freq)
{
	struct plan_probe *v = plan_new(p, PROBE_PERF, prog);

	if (!v)
		return -ENOMEM;
	v->type = type;
	v->config = config;
	v->freq = freq;
	snprintf(v->what, sizeof(v->what), "perf event %u:%llu at %llu Hz",
		 type, (unsigned long long)config, (unsigned long long)freq);
	p->n++;
	return 0;
}

uint32_t probe_kind_prog_type(enum probe_kind k)
{
	switch (k) {
	case PROBE_UPROBE:
	case PROBE_URETPROBE:
		return BPF_PROG_TYPE_KPROBE;
	case PROBE_TRACEPOINT:
		return BPF_PROG_TYPE_TRACEPOINT;
	case PROBE_PERF:
		return BPF_PROG_TYPE_PERF_EVENT;
	}
	return BPF_PROG_TYPE_UNSPEC;
}

void plan_free(struct plan *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	memset(p, 0, sizeof(*p));
}
