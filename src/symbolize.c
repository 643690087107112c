#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elfsym.h"
#include "symbolize.h"

#define MAX_PROCS 64
#define MAX_MODS 256
#define CACHE_SLOTS 4096	/* named frames kept, direct-mapped */

struct sym {
	uint64_t addr;
	uint32_t size;
	uint32_t name;		/* offset in the module's string table */
};

struct module {
	char path[PATH_MAX + 64];
	char name[64];		/* shown: the mapped file's base name */
	struct elf_file f;	/* kept open: the names point into it */
	struct sym *syms;
	size_t nsyms, cap;
	size_t strtab;		/* section index of the names */
	Dwarf *dw;		/* when the file has DWARF: inlined frames */
	int loaded;		/* 1 ok, -1 unreadable */
};

struct mapping {
	uint64_t start, end, off;
	int mod;		/* -1: no file */
	char label[12];		/* no file: "[anon]", "[vdso]", ... */
};

struct proc {
	pid_t pid;
	struct mapping *maps;
	size_t nmaps;
	bool kept;		/* symbolizer_keep(): never read again */
};

struct named {
	uint64_t vaddr;		/* (file address << 1 | after a call) + 1,
				 * 0: free */
	int mod;
	int nlines;
	char *text;		/* the lines, each ending in a NUL */
};

struct symbolizer {
	struct proc procs[MAX_PROCS];
	int nprocs, next_victim;
	struct module mods[MAX_MODS];
	int nmods;
	struct named cache[CACHE_SLOTS];
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
	int i;

	if (!s)
		return;
	for (i = 0; i < s->nprocs; i++)
		proc_clear(&s->procs[i]);
	for (i = 0; i < s->nmods; i++) {
		free(s->mods[i].syms);
		if (s->mods[i].dw)
			dwarf_end(s->mods[i].dw);
		if (s->mods[i].loaded > 0)
			elf_close(&s->mods[i].f);
	}
	for (i = 0; i < CACHE_SLOTS; i++)
		free(s->cache[i].text);
	free(s);
}

void demangle_name(const char *name, char *buf, size_t len)
{
	char *d = NULL;
	size_t n;

	if (strncmp(name, "_Z", 2) == 0)
		d = cxx_demangle(name);
	else if (strncmp(name, "_R", 2) == 0)	/* Rust v0, by libiberty */
		d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
	snprintf(buf, len, "%s", d ? d : name);
	free(d);
	/* legacy Rust: "...::h0123456789abcdef" */
	n = strlen(buf);
	if (n > 19 && strncmp(buf + n - 19, "::h", 3) == 0 &&
	    strspn(buf + n - 16, "0123456789abcdef") == 16)
		buf[n - 19] = '\0';
}

/* Heapsort by address, in place: qsort's merge sort would take a second
 * copy of a table that holds ~100k symbols in a large binary. */
static void sift(struct sym *v, size_t root, size_t n)
{
	struct sym t;
	size_t c;

	while ((c = 2 * root + 1) < n) {
		if (c + 1 < n && v[c + 1].addr > v[c].addr)
			c++;
		if (v[root].addr >= v[c].addr)
			return;
		t = v[root];
		v[root] = v[c];
		v[c] = t;
		root = c;
	}
}

static void sort_syms(struct sym *v, size_t n)
{
	struct sym t;
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (i = n; i-- > 1;) {
		t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift(v, 0, i);
	}
}

static int add_sym(struct module *m, const Elf64_Sym *e)
{
	struct sym *n;
	int t = ELF64_ST_TYPE(e->st_info);

	if ((t != STT_FUNC && t != STT_GNU_IFUNC) || e->st_shndx == SHN_UNDEF ||
	    !e->st_value || !e->st_name)
		return 0;
	if (m->nsyms == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		n = realloc(m->syms, m->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->syms = n;
	}
	m->syms[m->nsyms].addr = e->st_value;
	m->syms[m->nsyms].size = e->st_size > UINT32_MAX ? UINT32_MAX :
				 (uint32_t)e->st_size;
	m->syms[m->nsyms].name = e->st_name;
	m->nsyms++;
	return 0;
}

/* The function symbols of .symtab (else .dynsym), read with pread, so
 * that a large table is not mapped in: names stay offsets, looked up in
 * the mapped string table only for the frames named. */
static int read_symbols(struct module *m)
{
	Elf64_Sym buf[512];
	Elf_Scn *scn = NULL, *pick = NULL;
	GElf_Shdr sh, psh = { 0 };
	uint64_t off;
	ssize_t got;
	size_t i;
	int err;

	if (m->f.elf_class != ELFCLASS64)
		return -ENOEXEC;
	while ((scn = elf_nextscn(m->f.elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			break;
		if (sh.sh_type == SHT_SYMTAB ||
		    (sh.sh_type == SHT_DYNSYM && !pick)) {
			pick = scn;
			psh = sh;
		}
	}
	if (!pick || psh.sh_entsize != sizeof(Elf64_Sym))
		return 0;
	m->strtab = psh.sh_link;
	/* room for every entry at once: no doubling, no copy while growing */
	m->cap = psh.sh_size / sizeof(Elf64_Sym);
	m->syms = malloc(m->cap * sizeof(*m->syms));
	if (!m->syms)
		return -ENOMEM;
	for (off = 0; off < psh.sh_size; off += (uint64_t)got) {
		got = pread(m->f.fd, buf,
			    psh.sh_size - off < sizeof(buf) ?
			    (size_t)(psh.sh_size - off) : sizeof(buf),
			    (off_t)(psh.sh_offset + off));
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		got -= got % (ssize_t)sizeof(Elf64_Sym);
		for (i = 0; i < (size_t)got / sizeof(Elf64_Sym); i++)
			if ((err = add_sym(m, &buf[i])) != 0)
				return err;
	}
	return 0;
}

static const char *sym_name(const struct module *m, const struct sym *sym)
{
	const char *n = elf_strptr(m->f.elf, m->strtab, sym->name);

	return n ? n : "[unknown]";
}

static void module_load(struct module *m)
{
	m->loaded = -1;
	if (elf_open(&m->f, m->path) != 0)
		return;
	if (read_symbols(m) != 0) {
		elf_close(&m->f);
		free(m->syms);
		m->syms = NULL;
		m->nsyms = 0;
		return;
	}
	sort_syms(m->syms, m->nsyms);
	if (m->nsyms < m->cap) {
		struct sym *n = realloc(m->syms, (m->nsyms ? m->nsyms : 1) *
					sizeof(*n));

		if (n)
			m->syms = n;
		m->cap = m->nsyms;
	}
	if (m->f.has_debug)
		m->dw = dwarf_begin_elf(m->f.elf, DWARF_C_READ, NULL);
	m->loaded = 1;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* The module opened through path, shown as the base name of mapped (the
 * name in /proc/PID/maps, " (deleted)" left off). */
static int module_find(struct symbolizer *s, const char *path,
		       const char *mapped)
{
	const char *b = base_name(mapped);
	int i, n = (int)strlen(b);

	if (n > 10 && strcmp(b + n - 10, " (deleted)") == 0)
		n -= 10;
	for (i = 0; i < s->nmods; i++)
		if (strcmp(s->mods[i].path, path) == 0)
			return i;
	if (s->nmods == MAX_MODS)
		return -1;
	snprintf(s->mods[s->nmods].path, sizeof(s->mods[0].path), "%s", path);
	snprintf(s->mods[s->nmods].name, sizeof(s->mods[0].name), "%.*s", n,
		 b);
	s->mods[s->nmods].f.fd = -1;
	return s->nmods++;
}

void proc_map_path(pid_t pid, const char *name, unsigned long long lo,
		   unsigned long long hi, unsigned int major,
		   unsigned int minor, unsigned long long ino, char *out,
		   size_t len)
{
	size_t n = strlen(name);
	char exe[64];
	struct stat st;

	if (!(n > 10 && strcmp(name + n - 10, " (deleted)") == 0)) {
		snprintf(out, len, "/proc/%d/root%.4000s", (int)pid, name);
		if (access(out, R_OK) == 0)
			return;
	}
	/* map_files wants CAP_SYS_ADMIN; /proc/PID/exe only what reading
	 * the maps did */
	snprintf(out, len, "/proc/%d/map_files/%llx-%llx", (int)pid, lo, hi);
	if (access(out, R_OK) == 0)
		return;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (stat(exe, &st) == 0 && st.st_ino == (ino_t)ino &&
	    major(st.st_dev) == major && minor(st.st_dev) == minor)
		snprintf(out, len, "%s", exe);
}

static int proc_load(struct symbolizer *s, struct proc *p, pid_t pid)
{
	char path[64], line[PATH_MAX + 128], full[PATH_MAX + 64], perms[8];
	unsigned long long lo, hi, off, ino;
	unsigned int maj, min;
	struct mapping *n, *m;
	size_t cap = 0;
	const char *name;
	int pos;
	FILE *f;

	/* a process that exited keeps the maps read before */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	proc_clear(p);
	p->pid = pid;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &lo, &hi,
			   perms, &off, &maj, &min, &ino, &pos) < 7 ||
		    perms[2] != 'x')
			continue;
		name = pos ? line + pos : "";
		if (p->nmaps == cap) {
			cap = cap ? cap * 2 : 32;
			n = realloc(p->maps, cap * sizeof(*n));
			if (!n)
				break;
			p->maps = n;
		}
		m = &p->maps[p->nmaps++];
		*m = (struct mapping){ lo, hi, off, -1, "" };
		if (name[0] != '/') {
			snprintf(m->label, sizeof(m->label), "%s",
				 name[0] == '[' ? name : "[anon]");
			continue;
		}
		proc_map_path(pid, name, lo, hi, maj, min, ino, full,
			      sizeof(full));
		m->mod = module_find(s, full, name);
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
	if (p && (!reload || p->kept))
		return p;
	if (!p) {
		if (s->nprocs < MAX_PROCS) {
			p = &s->procs[s->nprocs++];
		} else {
			p = &s->procs[s->next_victim];
			s->next_victim = (s->next_victim + 1) % MAX_PROCS;
		}
	}
	if (proc_load(s, p, pid) == 0 || (p->pid == pid && p->nmaps))
		return p;
	return NULL;
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

/* The module and file address of addr in process pid, or -1. */
static int locate(struct symbolizer *s, pid_t pid, uint64_t addr,
		  uint64_t *vaddr, const struct mapping **mapp)
{
	const struct mapping *map;
	struct module *m;
	uint64_t foff;
	int i;

	map = map_of(proc_get(s, pid, false), addr);
	if (!map)
		map = map_of(proc_get(s, pid, true), addr);
	*mapp = map;
	*vaddr = 0;
	if (!map || map->mod < 0)
		return -1;
	m = &s->mods[map->mod];
	if (!m->loaded)
		module_load(m);
	foff = addr - map->start + map->off;
	for (i = 0; m->loaded > 0 && i < m->f.nloads; i++)
		if (foff >= m->f.loads[i].offset &&
		    foff < m->f.loads[i].offset + m->f.loads[i].filesz)
			*vaddr = foff - m->f.loads[i].offset +
				 m->f.loads[i].vaddr;
	return map->mod;
}

int symbolize(struct symbolizer *s, pid_t pid, uint64_t addr, char *buf,
	      size_t len, char *mod, size_t modlen)
{
	const struct mapping *map;
	const struct sym *sym;
	struct module *m;
	uint64_t vaddr;
	char name[1024];
	int mi;

	mi = locate(s, pid, addr, &vaddr, &map);
	if (mi < 0) {
		snprintf(buf, len, "[unknown]");
		snprintf(mod, modlen, "%s", map ? map->label : "?");
		return -ENOENT;
	}
	m = &s->mods[mi];
	snprintf(mod, modlen, "%s", m->name);
	sym = m->loaded > 0 && vaddr ? sym_of(m, vaddr) : NULL;
	if (!sym) {
		snprintf(buf, len, "[unknown]");
		return 0;
	}
	demangle_name(sym_name(m, sym), name, sizeof(name));
	snprintf(buf, len, "%s+0x%llx", name,
		 (unsigned long long)(vaddr - sym->addr));
	return 0;
}

/* The name of an inlined subroutine's DIE: its linkage name demangled,
 * or its plain name, through its abstract origin. */
static void inline_name(Dwarf_Die *die, char *buf, size_t len)
{
	Dwarf_Attribute attr;
	const char *n = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		n = dwarf_formstring(&attr);
	if (!n && dwarf_attr_integrate(die, DW_AT_name, &attr))
		n = dwarf_formstring(&attr);
	demangle_name(n ? n : "[unknown]", buf, len);
}

/* Append "text (mod)" as a line; false when text is full. */
static bool add_line(char *text, size_t cap, size_t *used, const char *line,
		     const char *mod)
{
	int n = snprintf(text + *used, cap - *used, "%s (%s)", line, mod);

	if (n < 0 || (size_t)n + 1 > cap - *used)
		return false;
	*used += (size_t)n + 1;
	return true;
}

/* The lines of a frame at file address vaddr of module mi (look is the
 * address to look up: vaddr, or vaddr - 1 after a call). */
static struct named *name_frame(struct symbolizer *s, int mi, uint64_t vaddr,
				uint64_t look)
{
	struct named *c = &s->cache[(vaddr * 0x9e3779b97f4a7c15ull >> 52) %
				    CACHE_SLOTS];
	struct module *m = &s->mods[mi];
	const struct sym *sym;
	Dwarf_Die cu, *scopes = NULL;
	char text[2048], name[1024], line[1100];
	size_t used = 0;
	int nlines = 0, ns = 0, i;
	const char *mod = m->name;

	uint64_t key = (vaddr << 1 | (look != vaddr)) + 1;

	if (c->vaddr == key && c->mod == mi)
		return c;
	if (m->dw && dwarf_addrdie(m->dw, look, &cu))
		ns = dwarf_getscopes(&cu, look, &scopes);
	for (i = 0; i < ns; i++) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		inline_name(&scopes[i], name, sizeof(name));
		snprintf(line, sizeof(line), "%s [inlined]", name);
		if (!add_line(text, sizeof(text), &used, line, mod))
			break;
		nlines++;
	}
	free(scopes);
	sym = m->loaded > 0 && look ? sym_of(m, look) : NULL;
	if (sym) {
		demangle_name(sym_name(m, sym), name, sizeof(name));
		snprintf(line, sizeof(line), "%s+0x%llx", name,
			 (unsigned long long)(vaddr - sym->addr));
	} else {
		snprintf(line, sizeof(line), "[unknown]");
	}
	if (!add_line(text, sizeof(text), &used, line, mod)) {
		used = 0;	/* always room for the function itself */
		nlines = 0;
		add_line(text, sizeof(text), &used, line, mod);
	}
	nlines++;
	free(c->text);
	c->text = malloc(used);
	if (!c->text) {
		c->vaddr = 0;
		return NULL;
	}
	memcpy(c->text, text, used);
	c->vaddr = key;
	c->mod = mi;
	c->nlines = nlines;
	return c;
}

void symbolizer_keep(struct symbolizer *s, pid_t pid)
{
	int i;

	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			s->procs[i].kept = true;
}

int symbolizer_prepare(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_get(s, pid, true);
	size_t i;

	if (!p)
		return -ESRCH;
	for (i = 0; i < p->nmaps; i++)
		if (p->maps[i].mod >= 0 && !s->mods[p->maps[i].mod].loaded)
			module_load(&s->mods[p->maps[i].mod]);
	return 0;
}

enum sym_where symbolize_where(struct symbolizer *s, pid_t pid, uint64_t pc)
{
	const struct mapping *map;
	uint64_t vaddr;

	if (locate(s, pid, pc, &vaddr, &map) >= 0)
		return SYM_FILE;
	return map ? SYM_ANON : SYM_UNMAPPED;
}

int symbolize_frame(struct symbolizer *s, pid_t pid, uint64_t pc,
		    bool ret_addr, char *out, int max, size_t width)
{
	const struct mapping *map;
	const struct named *c;
	const char *t;
	uint64_t vaddr;
	int mi, i;

	if (max < 1)
		return 0;
	mi = locate(s, pid, ret_addr ? pc - 1 : pc, &vaddr, &map);
	if (mi < 0 || !vaddr) {
		snprintf(out, width, "[unknown] (%s)",
			 mi >= 0 ? s->mods[mi].name :
			 map ? map->label : "?");
		return 1;
	}
	if (ret_addr)
		vaddr++;	/* the return address itself, for the offset */
	c = name_frame(s, mi, vaddr, ret_addr ? vaddr - 1 : vaddr);
	if (!c) {
		snprintf(out, width, "[unknown] (%s)",
			 s->mods[mi].name);
		return 1;
	}
	for (i = 0, t = c->text; i < c->nlines && i < max; i++) {
		snprintf(out + (size_t)i * width, width, "%s", t);
		t += strlen(t) + 1;
	}
	return i;
}
