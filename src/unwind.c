#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "unwind.h"
#include "symbolize.h"
#include "util.h"

#define DEFAULT_PROCS 16
#define CFI_CACHE 4096		/* per process, direct-mapped */
#define MAX_MAPS 65536

enum map_kind { MAP_FILE, MAP_ANON, MAP_UPROBES };

struct umap {
	uint64_t start, end, off;
	int kind;
	bool exec;
	char *path;		/* MAP_FILE: as /proc/PID/maps names it */
	unsigned int major, minor;
	unsigned long long ino;
};

struct cfi_slot {
	uint64_t pc;		/* pc + 1, so that 0 is free */
	bool ok;
};

struct uproc {
	pid_t pid;
	Dwfl *dwfl;
	struct umap *maps;
	size_t nmaps;
	uint64_t used;
	struct cfi_slot cfi[CFI_CACHE];
	/* the walk under way */
	const uint64_t *regs;
	const uint8_t *stack;
	uint64_t sp;
	size_t len;
	pid_t tid;
	int flags;
	bool read_past;
	bool miss;		/* a pc in no mapping known */
	struct unwind_frame *frames;
	int n, max;
	int end;		/* -1 while none */
};

struct unwinder {
	struct uproc **procs;
	int nprocs, max_procs;
	uint64_t tick;
	struct unwind_stats st;
};

static const char *const end_names[UNWIND_NEND] = {
	"ok", "truncated", "no_cfi", "anon", "unmapped", "trampoline", "depth",
	"gone", "bad",
};

const char *unwind_end_name(enum unwind_end end)
{
	return (unsigned)end < UNWIND_NEND ? end_names[end] : "?";
}

/* ---- the maps of a process ---- */

static void maps_free(struct uproc *p)
{
	size_t i;

	for (i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
}

static int maps_read(struct uproc *p)
{
	char path[64], line[PATH_MAX + 128], perms[8];
	unsigned long long lo, hi, off, ino;
	unsigned int maj, min;
	struct umap *m, *n;
	size_t cap = 0;
	const char *name;
	int pos;
	FILE *f;

	maps_free(p);
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && p->nmaps < MAX_MAPS) {
		line[strcspn(line, "\n")] = '\0';
		pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &lo, &hi,
			   perms, &off, &maj, &min, &ino, &pos) < 7)
			continue;
		name = pos ? line + pos : "";
		if (p->nmaps == cap) {
			cap = cap ? cap * 2 : 64;
			n = realloc(p->maps, cap * sizeof(*n));
			if (!n)
				break;
			p->maps = n;
		}
		m = &p->maps[p->nmaps];
		*m = (struct umap){ lo, hi, off, MAP_ANON, perms[2] == 'x',
				    NULL, maj, min, ino };
		if (name[0] == '/') {
			m->kind = MAP_FILE;
			m->path = strdup(name);
			if (!m->path)
				break;
		} else if (strcmp(name, "[uprobes]") == 0) {
			m->kind = MAP_UPROBES;
		}
		p->nmaps++;
	}
	fclose(f);
	return p->nmaps ? 0 : -ESRCH;
}

static const struct umap *map_at(const struct uproc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {	/* /proc/PID/maps is sorted */
		size_t mid = (lo + hi) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/* ---- libdwfl callbacks ---- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct uproc *p = arg;

	if (*thread_argp)
		return 0;
	*thread_argp = p;
	return p->tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	*thread_argp = arg;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			   void *arg)
{
	struct uproc *p = arg;

	if (addr >= p->sp && addr - p->sp <= p->len &&
	    p->len - (addr - p->sp) >= sizeof(*result)) {
		memcpy(result, p->stack + (addr - p->sp), sizeof(*result));
		return true;
	}
	/* above the copy, but within the stack's mapping: the stack went
	 * deeper than what was copied */
	if (addr >= p->sp) {
		const struct umap *m = map_at(p, p->sp);

		if (m && addr < m->end)
			p->read_past = true;
	}
	return false;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct uproc *p = arg;
	Dwarf_Word regs[UNWIND_NREGS];

	memcpy(regs, p->regs, sizeof(regs));
	return dwfl_thread_state_registers(thread, 0, UNWIND_NREGS, regs) &&
	       (dwfl_thread_state_register_pc(thread, regs[UNWIND_REG_RIP]),
		true);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static char *debuginfo_path;

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* ---- per-process state ---- */

static void proc_drop(struct uproc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	maps_free(p);
	free(p);
}

/* Report every executable file mapping as a module placed where its
 * offset-0 mapping starts, then take the thread callbacks. */
static int proc_build(struct uproc *p)
{
	char file[PATH_MAX + 64];
	size_t i, j;
	int nmods = 0;

	if (p->dwfl)
		dwfl_end(p->dwfl);
	memset(p->cfi, 0, sizeof(p->cfi));
	p->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!p->dwfl)
		return -ENOMEM;
	dwfl_report_begin(p->dwfl);
	for (i = 0; i < p->nmaps; i++) {
		const struct umap *m = &p->maps[i], *base = NULL;

		if (m->kind != MAP_FILE || !m->exec)
			continue;
		/* where the loader put the file: its offset-0 mapping nearest
		 * below (the same file can be mapped elsewhere too, e.g. read
		 * by a library that opens ELF files) */
		for (j = i + 1; j-- > 0;)
			if (p->maps[j].kind == MAP_FILE && p->maps[j].off == 0 &&
			    strcmp(p->maps[j].path, m->path) == 0) {
				base = &p->maps[j];
				break;
			}
		if (!base)
			continue;
		proc_map_path(p->pid, m->path, m->start, m->end, m->major,
			      m->minor, m->ino, file, sizeof(file));
		if (dwfl_report_elf(p->dwfl, strrchr(m->path, '/') + 1, file, -1,
				    base->start, false))
			nmods++;
	}
	if (dwfl_report_end(p->dwfl, NULL, NULL) != 0 || nmods == 0 ||
	    !dwfl_attach_state(p->dwfl, NULL, p->pid, &thread_callbacks, p)) {
		dwfl_end(p->dwfl);
		p->dwfl = NULL;
		return -ENOENT;
	}
	return 0;
}

static struct uproc *proc_get(struct unwinder *u, pid_t pid)
{
	struct uproc *p;
	int i, lru = 0;

	for (i = 0; i < u->nprocs; i++) {
		if (u->procs[i]->pid == pid) {
			u->procs[i]->used = ++u->tick;
			return u->procs[i];
		}
		if (u->procs[i]->used < u->procs[lru]->used)
			lru = i;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->end = -1;
	if (maps_read(p) != 0) {
		proc_drop(p);
		return NULL;
	}
	proc_build(p);		/* without modules, every walk says why */
	u->st.procs_loaded++;
	if (u->nprocs == u->max_procs) {
		proc_drop(u->procs[lru]);
		u->st.procs_dropped++;
	} else {
		lru = u->nprocs++;
	}
	u->procs[lru] = p;
	p->used = ++u->tick;
	return p;
}

int unwind_prepare(struct unwinder *u, pid_t pid)
{
	struct uproc *p = proc_get(u, pid);
	Dwfl_Module *mod = NULL;
	Dwarf_Addr bias;
	size_t i;

	if (!p)
		return -ESRCH;
	/* the CFI tables of each module: .eh_frame_hdr is read here */
	for (i = 0; p->dwfl && i < p->nmaps; i++)
		if (p->maps[i].kind == MAP_FILE && p->maps[i].exec &&
		    (mod = dwfl_addrmodule(p->dwfl, p->maps[i].start)))
			dwfl_module_eh_cfi(mod, &bias);
	return 0;
}

void unwind_forget(struct unwinder *u, pid_t pid)
{
	int i;

	for (i = 0; u && i < u->nprocs; i++)
		if (u->procs[i]->pid == pid) {
			proc_drop(u->procs[i]);
			u->procs[i] = u->procs[--u->nprocs];
			return;
		}
}

struct unwinder *unwinder_new(int max_procs)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->max_procs = max_procs > 0 ? max_procs : DEFAULT_PROCS;
	u->procs = calloc((size_t)u->max_procs, sizeof(*u->procs));
	if (!u->procs) {
		free(u);
		return NULL;
	}
	return u;
}

void unwinder_free(struct unwinder *u)
{
	int i;

	if (!u)
		return;
	for (i = 0; i < u->nprocs; i++)
		proc_drop(u->procs[i]);
	free(u->procs);
	free(u);
}

void unwind_get_stats(const struct unwinder *u, struct unwind_stats *st)
{
	*st = u->st;
}

/* ---- the walk ---- */

/* Does the module have CFI for pc (the address to look up, already
 * pc - 1 for a return address)? */
static bool has_cfi(struct uproc *p, Dwfl_Module *mod, uint64_t pc)
{
	struct cfi_slot *c = &p->cfi[(pc ^ (pc >> 12)) % CFI_CACHE];
	Dwarf_Frame *frame;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	bool ok = false;

	if (c->pc == pc + 1)
		return c->ok;
	cfi = dwfl_module_eh_cfi(mod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &frame) == 0) {
		free(frame);
		ok = true;
	}
	if (!ok) {
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &frame) == 0) {
			free(frame);
			ok = true;
		}
	}
	c->pc = pc + 1;
	c->ok = ok;
	return ok;
}

/* The end for a pc outside every module. */
static int outside(struct uproc *p, uint64_t pc)
{
	const struct umap *m = map_at(p, pc);

	if (!m) {
		p->miss = true;
		return UNWIND_UNMAPPED;
	}
	if (m->kind == MAP_UPROBES)
		return UNWIND_TRAMPOLINE;
	if (m->kind == MAP_ANON)
		return UNWIND_ANON;
	/* a file mapping whose ELF could not be opened, or that appeared
	 * after the modules were reported */
	p->miss = true;
	return UNWIND_UNMAPPED;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct uproc *p = arg;
	Dwarf_Addr pc;
	bool act;
	uint64_t look;
	Dwfl_Module *mod;

	/* only what unwinding this frame reads counts; dwfl_frame_pc unwinds
	 * it already (to tell a signal frame's caller) */
	p->read_past = false;
	if (!dwfl_frame_pc(state, &pc, &act)) {
		p->end = UNWIND_BAD;
		return DWARF_CB_ABORT;
	}
	if (pc == 0 && p->n > 0) {	/* a thread's outermost frame */
		p->end = UNWIND_OK;
		return DWARF_CB_ABORT;
	}
	if (p->n == p->max) {
		p->end = UNWIND_DEPTH;
		return DWARF_CB_ABORT;
	}
	if (p->n == 0 && (p->flags & UNWIND_AT_RETURN))
		act = false;
	p->frames[p->n].pc = pc;
	p->frames[p->n].ret_addr = !act;
	p->n++;
	look = act ? pc : pc - 1;
	mod = dwfl_addrmodule(p->dwfl, look);
	if (!mod) {
		p->end = outside(p, look);
		return DWARF_CB_ABORT;
	}
	if (!has_cfi(p, mod, look)) {
		p->end = UNWIND_NO_CFI;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

static int walk(struct uproc *p)
{
	int rc;

	p->n = 0;
	p->end = -1;
	p->read_past = false;
	p->miss = false;
	if (!p->dwfl) {
		p->frames[0].pc = p->regs[UNWIND_REG_RIP];
		p->frames[0].ret_addr = (p->flags & UNWIND_AT_RETURN) != 0;
		p->n = 1;
		return outside(p, p->regs[UNWIND_REG_RIP] -
				  (p->frames[0].ret_addr ? 1 : 0));
	}
	rc = dwfl_getthread_frames(p->dwfl, p->tid, on_frame, p);
	if (p->end >= 0)
		return p->end;
	/* libdwfl ends a walk without an error when it cannot read the
	 * caller's return address: above the copy, that is truncation */
	if (p->read_past)
		return UNWIND_TRUNCATED;
	return rc == 0 ? UNWIND_OK : UNWIND_BAD;
}

int unwind_stack(struct unwinder *u, pid_t pid, pid_t tid,
		 const uint64_t *regs, const void *stack, size_t len,
		 int flags, struct unwind_frame *frames, int max,
		 enum unwind_end *end)
{
	struct uproc *p;
	int e;

	if (max < 1)
		return -EINVAL;
	u->st.stacks++;
	frames[0].pc = regs[UNWIND_REG_RIP];
	frames[0].ret_addr = (flags & UNWIND_AT_RETURN) != 0;
	p = proc_get(u, pid);
	if (!p) {
		*end = UNWIND_GONE;
		u->st.ends[UNWIND_GONE]++;
		u->st.frames++;
		return 1;
	}
	p->regs = regs;
	p->stack = stack;
	p->len = len;
	p->sp = regs[UNWIND_REG_RSP];
	p->tid = tid > 0 ? tid : pid;
	p->flags = flags;
	p->frames = frames;
	p->max = max;
	e = walk(p);
	if (p->miss) {
		/* the process mapped or unmapped something since its maps
		 * were read: read them again, and walk again if a module
		 * came */
		if (maps_read(p) != 0) {
			e = UNWIND_GONE;
		} else {
			proc_build(p);
			p->frames = frames;
			e = walk(p);
		}
	}
	if (p->n == 0) {
		frames[0].pc = regs[UNWIND_REG_RIP];
		frames[0].ret_addr = (flags & UNWIND_AT_RETURN) != 0;
		p->n = 1;
	}
	*end = (enum unwind_end)e;
	u->st.ends[e]++;
	u->st.frames += (uint64_t)p->n;
	return p->n;
}

/* ---- what a binary offers ---- */

struct prologues {
	uint64_t *addrs;
	size_t n, cap;
	size_t all;
	bool own_only;
};

/* A Rust legacy name: _ZN...17h<16 hex digits>E */
static bool rust_legacy(const char *name)
{
	size_t n = strlen(name);

	return n > 24 && strncmp(name, "_ZN", 3) == 0 && name[n - 1] == 'E' &&
	       strncmp(name + n - 20, "17h", 3) == 0 &&
	       strspn(name + n - 17, "0123456789abcdef") == 16;
}

/* Is this the program's own code, rather than RocksDB (statically linked
 * in, C++ and its few C helpers), the C++ library's templates, or what
 * the compiler and the C runtime add?  C and Rust names count. */
static bool own_function(const char *name)
{
	static const char *const runtime[] = { "_start", "_init", "_fini",
		"deregister_tm_clones", "register_tm_clones", "frame_dummy" };
	size_t i;

	if (strcasestr(name, "rocksdb") ||
	    strncmp(name, "XXH", 3) == 0 || strncmp(name, "XXPH", 4) == 0 ||
	    strstr(name, ".cold"))
		return false;
	if (strncmp(name, "_Z", 2) == 0)
		return rust_legacy(name);
	if (strncmp(name, "_R", 2) == 0)	/* Rust v0 */
		return true;
	/* names reserved to the implementation: __tcf_0, _GLOBAL__sub_I_x */
	if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z')))
		return false;
	for (i = 0; i < ARRAY_SIZE(runtime); i++)
		if (strcmp(name, runtime[i]) == 0)
			return false;
	return true;
}

static int collect_fn(const char *name, uint64_t addr, uint64_t size,
		      bool defined, void *arg)
{
	struct prologues *pr = arg;
	uint64_t *n;

	if (!defined || !addr || size < 16)
		return 0;
	pr->all++;
	if (pr->own_only && !own_function(name))
		return 0;
	if (pr->n == pr->cap) {
		pr->cap = pr->cap ? pr->cap * 2 : 1024;
		n = realloc(pr->addrs, pr->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		pr->addrs = n;
	}
	pr->addrs[pr->n++] = addr;
	return 0;
}

/* push %rbp first (after an endbr64 or not), then mov %rsp,%rbp among
 * the next instructions (compilers schedule others in between) */
static bool fp_prologue(const uint8_t *b, size_t len)
{
	static const uint8_t endbr[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const uint8_t setup[3] = { 0x48, 0x89, 0xe5 };
	size_t i = 0;

	if (len >= 4 && memcmp(b, endbr, 4) == 0)
		i = 4;
	if (i >= len || b[i] != 0x55)
		return false;
	for (i++; i + 3 <= len; i++)
		if (memcmp(b + i, setup, 3) == 0)
			return true;
	return false;
}

int unwind_elf_info(const char *path, struct unwind_elf_info *info)
{
	struct prologues pr = { .own_only = true };
	struct elf_file f;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstr, i, step;
	uint64_t off;
	uint8_t b[24];
	const char *name;
	int err;

	memset(info, 0, sizeof(*info));
	err = elf_open(&f, path);
	if (err)
		return err;
	if (elf_getshdrstrndx(f.elf, &shstr) == 0)
		while ((scn = elf_nextscn(f.elf, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
				continue;
			name = elf_strptr(f.elf, shstr, sh.sh_name);
			if (!name)
				continue;
			if (strcmp(name, ".eh_frame") == 0 && sh.sh_size > 16)
				info->has_eh_frame = true;
			if (strcmp(name, ".debug_frame") == 0 && sh.sh_size > 16)
				info->has_debug_frame = true;
		}
	err = elf_symbols(&f, collect_fn, &pr);
	if (!err && pr.n == 0 && pr.all > 0) {
		pr.own_only = false;
		pr.all = 0;
		err = elf_symbols(&f, collect_fn, &pr);
	}
	step = pr.n > 2000 ? pr.n / 2000 : 1;
	for (i = 0; !err && i < pr.n; i += step) {
		if (elf_vaddr_to_offset(&f, pr.addrs[i], &off) != 0 ||
		    pread(f.fd, b, sizeof(b), (off_t)off) != (ssize_t)sizeof(b))
			continue;
		info->checked++;
		if (fp_prologue(b, sizeof(b)))
			info->with_fp++;
	}
	free(pr.addrs);
	elf_close(&f);
	return err;
}

bool unwind_elf_wants_dwarf(const struct unwind_elf_info *info)
{
	return (info->has_eh_frame || info->has_debug_frame) &&
	       info->with_fp * 2 < info->checked;
}
