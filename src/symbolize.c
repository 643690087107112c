#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "symbolize.h"

#define MAX_PROCS 64
#define MAX_MODS 256

struct sym {
	uint64_t addr, size;
	char *name;
};

struct module {
	char path[PATH_MAX + 64];
	struct sym *syms;
	size_t nsyms, cap;
	struct elf_load loads[ELF_MAX_LOADS];
	int nloads;
	int loaded;		/* 1 ok, -1 unreadable */
};

struct mapping {
	uint64_t start, end, off;
	int mod;
};

struct proc {
	pid_t pid;
	struct mapping *maps;
	size_t nmaps;
};

struct symbolizer {
	struct proc procs[MAX_PROCS];
	int nprocs, next_victim;
	struct module mods[MAX_MODS];
	int nmods;
};

struct symbolizer *symbolizer_new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

static void proc_clear(struct proc *p)
{
	free(p->maps);
	memset(p, 0, sizeof(*p));
}

void symbolizer_free(struct symbolizer *s)
{
	size_t k;
	int i;

	if (!s)
		return;
	for (i = 0; i < s->nprocs; i++)
		proc_clear(&s->procs[i]);
	for (i = 0; i < s->nmods; i++) {
		for (k = 0; k < s->mods[i].nsyms; k++)
			free(s->mods[i].syms[k].name);
		free(s->mods[i].syms);
	}
	free(s);
}

void demangle_name(const char *name, char *buf, size_t len)
{
	char *d = NULL;
	size_t n;
	int status = 0;

	if (strncmp(name, "_Z", 2) == 0)
		d = __cxa_demangle(name, NULL, NULL, &status);
	snprintf(buf, len, "%s", d && !status ? d : name);
	free(d);
	/* legacy Rust: "...::h0123456789abcdef" */
	n = strlen(buf);
	if (n > 19 && strncmp(buf + n - 19, "::h", 3) == 0 &&
	    strspn(buf + n - 16, "0123456789abcdef") == 16)
		buf[n - 19] = '\0';
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int collect(const char *name, uint64_t addr, uint64_t size,
		   bool defined, void *arg)
{
	struct module *m = arg;
	struct sym *n;

	if (!defined || !addr)
		return 0;
	if (m->nsyms == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		n = realloc(m->syms, m->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->syms = n;
	}
	m->syms[m->nsyms].name = strdup(name);
	if (!m->syms[m->nsyms].name)
		return -ENOMEM;
	m->syms[m->nsyms].addr = addr;
	m->syms[m->nsyms].size = size;
	m->nsyms++;
	return 0;
}

static void module_load(struct module *m)
{
	struct elf_file f;

	m->loaded = -1;
	if (elf_open(&f, m->path) != 0)
		return;
	m->nloads = f.nloads;
	memcpy(m->loads, f.loads, sizeof(m->loads));
	if (elf_symbols(&f, collect, m) == 0) {
		if (m->nsyms > 1)	/* syms is NULL without symbols */
			qsort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
		m->loaded = 1;
	}
	elf_close(&f);
}

static int module_find(struct symbolizer *s, const char *path)
{
	int i;

	for (i = 0; i < s->nmods; i++)
		if (strcmp(s->mods[i].path, path) == 0)
			return i;
	if (s->nmods == MAX_MODS)
		return -1;
	snprintf(s->mods[s->nmods].path, sizeof(s->mods[0].path), "%s", path);
	return s->nmods++;
}

static int proc_load(struct symbolizer *s, struct proc *p, pid_t pid)
{
	char path[64], line[PATH_MAX + 128], full[PATH_MAX + 64], perms[8];
	unsigned long long lo, hi, off;
	struct mapping *n;
	size_t cap = 0;
	int pos;
	FILE *f;

	proc_clear(p);
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi,
			   perms, &off, &pos) < 4 || perms[2] != 'x' ||
		    line[pos] != '/')
			continue;
		if (p->nmaps == cap) {
			cap = cap ? cap * 2 : 32;
			n = realloc(p->maps, cap * sizeof(*n));
			if (!n)
				break;
			p->maps = n;
		}
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, line + pos);
		p->maps[p->nmaps] = (struct mapping){ lo, hi, off,
						      module_find(s, full) };
		p->nmaps++;
	}
	fclose(f);
	return 0;
}

static struct proc *proc_get(struct symbolizer *s, pid_t pid, bool reload)
{
	struct proc *p = NULL;
	int i;

	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			p = &s->procs[i];
	if (p && !reload)
		return p;
	if (!p) {
		if (s->nprocs < MAX_PROCS) {
			p = &s->procs[s->nprocs++];
		} else {
			p = &s->procs[s->next_victim];
			s->next_victim = (s->next_victim + 1) % MAX_PROCS;
		}
	}
	return proc_load(s, p, pid) == 0 ? p : NULL;
}

static const struct mapping *map_of(const struct proc *p, uint64_t addr)
{
	size_t i;

	for (i = 0; p && i < p->nmaps; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			return &p->maps[i];
	return NULL;
}

static const struct sym *sym_of(const struct module *m, uint64_t vaddr)
{
	size_t lo = 0, hi = m->nsyms;
	const struct sym *best = NULL;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->syms[mid].addr <= vaddr) {
			best = &m->syms[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (best && best->size && vaddr >= best->addr + best->size)
		return NULL;
	return best;
}

int symbolize(struct symbolizer *s, pid_t pid, uint64_t addr, char *buf,
	      size_t len, char *mod, size_t modlen)
{
	const struct mapping *map;
	const struct sym *sym;
	struct module *m;
	uint64_t foff, vaddr = 0;
	char name[1024];
	const char *base;
	int i;

	map = map_of(proc_get(s, pid, false), addr);
	if (!map)
		map = map_of(proc_get(s, pid, true), addr);
	if (!map || map->mod < 0) {
		snprintf(buf, len, "[unknown]");
		snprintf(mod, modlen, "?");
		return -ENOENT;
	}
	m = &s->mods[map->mod];
	base = strrchr(m->path, '/');
	snprintf(mod, modlen, "%s", base ? base + 1 : m->path);
	if (!m->loaded)
		module_load(m);
	foff = addr - map->start + map->off;
	for (i = 0; i < m->nloads; i++)
		if (foff >= m->loads[i].offset &&
		    foff < m->loads[i].offset + m->loads[i].filesz)
			vaddr = foff - m->loads[i].offset + m->loads[i].vaddr;
	sym = m->loaded > 0 && vaddr ? sym_of(m, vaddr) : NULL;
	if (!sym) {
		snprintf(buf, len, "[unknown]");
		return 0;
	}
	demangle_name(sym->name, name, sizeof(name));
	snprintf(buf, len, "%s+0x%llx", name,
		 (unsigned long long)(vaddr - sym->addr));
	return 0;
}
