/* ckb-symbols: what the ckbtrace tools would probe in a binary. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/catalog.h"
#include "../src/cli.h"
#include "../src/elfsym.h"
#include "../src/report.h"
#include "../src/target.h"
#include "../src/usdt.h"
#include "../src/util.h"

#define EXIT_MISSING 3

static const char usage_text[] =
"USAGE: ckb-symbols [-a] [-j] BINARY\n"
"       ckb-symbols [-a] [-j] -p PID\n"
"\n"
"What the ckbtrace tools would probe in a binary: the ELF's identity, how\n"
"RocksDB is linked, the symbol, address, file offset and size of every\n"
"catalog row (rows ckb-rdblat attaches are marked *), and USDT probes.\n"
"\n"
"  -p, --pid PID       a process: its executable and every object it maps\n"
"                      that holds RocksDB (library, plugin)\n"
"  -a, --all           also list every rocksdb_* and rocksdb:: function\n"
"  -j, --json          one JSON document\n"
"  -h, --help          this text\n"
"\n"
"EXAMPLES:\n"
"  ckb-symbols /usr/local/bin/ckb      # before upgrading a node\n"
"  ckb-symbols -p $(pgrep -x ckb)      # the running node and its libraries\n"
"  ckb-symbols -j ckb | jq .catalog    # JSON\n"
"  ckb-symbols -a /usr/lib/x86_64-linux-gnu/librocksdb.so.7.8\n"
"\n"
"Exit status: 0 every core operation of the target's layer resolves (C API:\n"
"GET, TXN_GET, TXN_PUT, TXN_COMMIT, WRITE; C++: GET, WRITE, ITER, and the\n"
"TXN_ ones with a TransactionDB), 3 some do not, 2 bad usage or input\n"
"(missing file, not ELF, truncated ELF, no such process), 1 other errors.\n";

struct opts {
	pid_t pid;
	const char *path;
	bool all;
	bool json;
};

struct rfunc {
	const char *name;	/* as in the ELF (valid while it is open) */
	char *demangled;	/* rocksdb:: names, else NULL */
	uint64_t addr, size;
	bool defined;
};

struct file_info {
	size_t nsymtab, ndynsym;
	int ncapi, ncxx, nimports;
	int nfuncs, cap;
	struct rfunc *funcs;
	int nusdt;
};

struct state {
	struct opts o;
	struct target t;
	struct resolution r;
	struct file_info info[CATALOG_MAX_FILES];
	const char *linkage;
	bool foreign;
	uint32_t probed;		/* ops with a resolved, attached row */
};

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "p:ajh", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->pid = cli_pid(optarg);
			break;
		case 'a': o->all = true; break;
		case 'j': o->json = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "%s: see ckb-symbols --help\n", prog_name);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		o->path = argv[optind++];
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
	if (o->pid && o->path)
		usage_fail("give a BINARY or -p PID, not both");
	if (!o->pid && !o->path)
		usage_fail("no BINARY and no -p PID");
}

static int find_target(struct state *s)
{
	int err;

	if (s->o.pid) {
		err = target_from_pid(&s->t, s->o.pid);
		if (err == -ESRCH) {
			msg("no process with PID %d; check it with pgrep -x ckb",
			    s->o.pid);
			return EXIT_USAGE;
		}
		if (err) {
			msg("cannot inspect PID %d: %s%s", s->o.pid,
			    strerror(-err), err == -EACCES ? "; run as root" : "");
			return 1;
		}
		return 0;
	}
	err = target_from_path(&s->t, s->o.path);
	if (err == -ENOENT) {
		msg("no such file %s; pass the node executable or its "
		    "librocksdb.so", s->o.path);
		return EXIT_USAGE;
	}
	if (err == -EISDIR) {
		msg("%s is not a regular file; pass the node executable or its "
		    "librocksdb.so", s->o.path);
		return EXIT_USAGE;
	}
	if (err) {
		msg("cannot read %s: %s", s->o.path, strerror(-err));
		return 1;
	}
	return 0;
}

static bool has_elf_magic(const char *path)
{
	char magic[4];
	ssize_t n = -1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, magic, sizeof(magic));
		close(fd);
	}
	return n == 4 && memcmp(magic, ELFMAG, SELFMAG) == 0;
}

static int open_error(const struct state *s, int err)
{
	const char *who = s->t.exe_shown;

	if (err == -ENOEXEC && has_elf_magic(s->t.exe)) {
		msg("%s is a truncated or corrupt ELF file; copy the binary "
		    "again", who);
		return EXIT_USAGE;
	}
	if (err == -ENOEXEC) {
		msg("%s is not an ELF file; pass the node executable or its "
		    "librocksdb.so", who);
		return EXIT_USAGE;
	}
	msg("cannot read %s: %s", who, strerror(-err));
	return 1;
}

static int add_func(struct file_info *fi, const char *name, char *demangled,
		    uint64_t addr, uint64_t size, bool defined)
{
	struct rfunc *n;

	if (fi->nfuncs == fi->cap) {
		fi->cap = fi->cap ? fi->cap * 2 : 256;
		n = realloc(fi->funcs, (size_t)fi->cap * sizeof(*n));
		if (!n) {
			free(demangled);
			return -ENOMEM;
		}
		fi->funcs = n;
	}
	fi->funcs[fi->nfuncs++] = (struct rfunc){ name, demangled, addr, size,
						  defined };
	return 0;
}

static int scan_cb(const char *name, uint64_t addr, uint64_t size,
		   bool defined, void *arg)
{
	char *d;

	if (strncmp(name, "rocksdb_", 8) == 0)
		return add_func(arg, name, NULL, addr, size, defined);
	if (name[0] != '_' || name[1] != 'Z' || !strstr(name, "7rocksdb"))
		return 0;
	d = cxx_demangle(name);
	if (!d || strncmp(d, "rocksdb::", 9) != 0) {
		free(d);
		return 0;
	}
	return add_func(arg, name, d, addr, size, defined);
}

static const char *func_name(const struct rfunc *f)
{
	return f->demangled ? f->demangled : f->name;
}

static int func_cmp(const void *a, const void *b)
{
	const struct rfunc *x = a, *y = b;
	int c = strcmp(func_name(x), func_name(y));

	if (c)
		return c;
	if (x->defined != y->defined)
		return x->defined ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void count_table(Elf_Scn *scn, size_t *n)
{
	GElf_Shdr sh;

	if (gelf_getshdr(scn, &sh) && sh.sh_entsize)
		*n = sh.sh_size / sh.sh_entsize;
}

static int scan_file(struct file_info *fi, const struct elf_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int i, n = 0, err;

	while ((scn = elf_nextscn(f->elf, scn)) && gelf_getshdr(scn, &sh)) {
		if (sh.sh_type == SHT_SYMTAB)
			count_table(scn, &fi->nsymtab);
		else if (sh.sh_type == SHT_DYNSYM)
			count_table(scn, &fi->ndynsym);
	}
	err = elf_symbols(f, scan_cb, fi);
	if (err)
		return err;
	/* no functions (a stripped file): funcs is NULL, which qsort()
	 * must not get */
	if (fi->nfuncs > 1)
		qsort(fi->funcs, (size_t)fi->nfuncs, sizeof(*fi->funcs),
		      func_cmp);
	for (i = 0; i < fi->nfuncs; i++) {
		if (n && func_cmp(&fi->funcs[n - 1], &fi->funcs[i]) == 0) {
			free(fi->funcs[i].demangled);
			continue;
		}
		fi->funcs[n++] = fi->funcs[i];
	}
	fi->nfuncs = n;
	for (i = 0; i < n; i++) {
		if (!fi->funcs[i].defined)
			fi->nimports++;
		else if (fi->funcs[i].demangled)
			fi->ncxx++;
		else
			fi->ncapi++;
	}
	return 0;
}

static int count_usdt(const struct usdt_note *n, void *arg)
{
	return 0;
}

static bool is_librocksdb(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "librocksdb", 10) == 0;
}

/* Does file i hold a resolved timing row? */
static bool file_has_rows(const struct state *s, int file)
{
	int i;

	for (i = 0; i < s->r.nhits; i++)
		if (s->r.hits[i].file == file && s->r.hits[i].nsites &&
		    !catalog_row_aux(s->r.hits[i].row))
			return true;
	return false;
}

/* static: in the executable; library: librocksdb itself; embedded: in
 * another shared object (a plugin, a JNI library); dynamic: the program
 * uses a librocksdb found or mapped beside it. */
static const char *link_kind(struct state *s)
{
	const struct elf_file *exe = &s->r.files[0];
	const struct file_info *fi = &s->info[0];
	int i;

	if (file_has_rows(s, 0))
		return !elf_is_library(exe) ? "static" :
		       is_librocksdb(s->t.exe_shown) ? "library" : "embedded";
	for (i = 1; i < s->r.nfiles; i++)
		if (file_has_rows(s, i) && !is_librocksdb(s->r.shown[i]))
			return "embedded";
	if (s->t.needed[0] || s->t.nlibs)
		return "dynamic";
	if (fi->nimports)
		return "dynamic";
	if (!exe->has_symtab && !exe->debug_elf && elf_contains(exe, "rocksdb"))
		return "stripped";
	return "absent";
}

static void compute_probed(struct state *s)
{
	uint32_t all = (1u << catalog_nops) - 1;

	s->probed = s->foreign ? 0 : all & ~resolution_missing(&s->r, all);
}

static int analyse(struct state *s)
{
	struct elf_file exe;
	int i, err;

	err = elf_open(&exe, s->t.exe);
	if (err)
		return open_error(s, err);
	elf_close(&exe);
	err = catalog_resolve_all(&s->r, &s->t);
	if (err)
		return open_error(s, err);
	s->foreign = s->r.files[0].machine != EM_X86_64 ||
		     s->r.files[0].elf_class != ELFCLASS64;
	for (i = 0; i < s->r.nfiles; i++) {
		if (scan_file(&s->info[i], &s->r.files[i]) != 0) {
			msg("out of memory reading %s", s->r.files[i].path);
			return 1;
		}
		s->info[i].nusdt = usdt_notes(&s->r.files[i], count_usdt, NULL);
	}
	s->linkage = link_kind(s);
	compute_probed(s);
	return 0;
}

/* ---- facts shared by both outputs ---- */

static const char *machine_name(int m)
{
	switch (m) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "Intel 80386";
	case EM_AARCH64: return "AArch64";
	case EM_ARM: return "ARM";
	case EM_RISCV: return "RISC-V";
	case EM_PPC64: return "PowerPC64";
	case EM_PPC: return "PowerPC";
	case EM_S390: return "IBM S/390";
	case EM_MIPS: return "MIPS";
	case EM_LOONGARCH: return "LoongArch";
	}
	return NULL;
}

static const char *type_name(const struct elf_file *f)
{
	switch (f->type) {
	case ET_EXEC: return "executable";
	case ET_DYN: return elf_is_library(f) ? "shared library" :
					       "PIE executable";
	case ET_REL: return "relocatable object";
	case ET_CORE: return "core file";
	}
	return "unknown";
}

static const char *layer_short(enum layer l)
{
	static const char *const names[] = { "capi", "cxx", "bg", "tally",
					     "cxxaux", "bgaux" };

	return names[l];
}

/* A path under /proc/PID/root as the process sees it. */
static const char *shown_path(const struct state *s, int file)
{
	return s->r.shown[file];
}

/* A path under /proc/PID/root as the process sees it. */
static const char *in_process(const char *path)
{
	int pid, used = 0;

	if (sscanf(path, "/proc/%d/root%n", &pid, &used) == 1 && used &&
	    path[used] == '/')
		return path + used;
	return path;
}

/* The file the symbols of file i were read from, as its user knows it. */
static const char *symbols_path(const struct state *s, int i)
{
	const struct elf_file *f = &s->r.files[i];

	return f->debug_elf ? in_process(f->debug_path) : shown_path(s, i);
}

/* Where a file's symbols were read: its own tables or a debug file. */
static const char *symbols_from(const struct elf_file *f, char *buf,
				size_t len)
{
	if (f->debug_elf)
		snprintf(buf, len, "%s (%s)", in_process(f->debug_path),
			 f->debug_how);
	else if (f->has_symtab)
		snprintf(buf, len, ".symtab and .dynsym");
	else if (f->has_dynsym)
		snprintf(buf, len, ".dynsym only: .symtab stripped, no debug "
			 "file found%s%s", f->debuglink[0] ? " for " : "",
			 f->debuglink);
	else
		snprintf(buf, len, "none");
	return buf;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static const struct catalog_hit *hit_of(const struct state *s, int row)
{
	int i;

	for (i = 0; i < s->r.nhits; i++)
		if (s->r.hits[i].row == &catalog_rows[row] &&
		    s->r.hits[i].nsites)
			return &s->r.hits[i];
	return NULL;
}

static bool row_probed(const struct state *s, int row)
{
	return !s->foreign && catalog_row_wanted(s->r.choice, &catalog_rows[row]);
}

static void offset_text(const struct elf_file *f, uint64_t addr, char *buf,
			size_t len)
{
	uint64_t off;

	if (elf_vaddr_to_offset(f, addr, &off) == 0)
		snprintf(buf, len, "0x%llx", (unsigned long long)off);
	else
		snprintf(buf, len, "-");
}

/* ---- text ---- */

static void text_file(const struct state *s, int i)
{
	const struct elf_file *f = &s->r.files[i];
	const struct file_info *fi = &s->info[i];
	const char *m = machine_name(f->machine);
	char sz[16], buf[PATH_MAX + 64];

	fmt_bytes(sz, sizeof(sz), f->file_size);
	printf("%-10s  %s\n", "file", shown_path(s, i));
	printf("%-10s  %s\n", "class", f->elf_class == ELFCLASS64 ? "ELF64" :
	       f->elf_class == ELFCLASS32 ? "ELF32" : "unknown");
	if (m)
		printf("%-10s  %s\n", "machine", m);
	else
		printf("%-10s  EM %d\n", "machine", f->machine);
	printf("%-10s  %s\n", "type", type_name(f));
	printf("%-10s  %s\n", "build-id", f->build_id[0] ? f->build_id : "none");
	printf("%-10s  %llu bytes (%s)\n", "size",
	       (unsigned long long)f->file_size, sz);
	if (f->has_symtab)
		printf("%-10s  yes, %zu symbols (not stripped)\n", ".symtab",
		       fi->nsymtab);
	else
		printf("%-10s  no (stripped)\n", ".symtab");
	printf("%-10s  %zu symbols\n", ".dynsym", fi->ndynsym);
	printf("%-10s  %s\n", "DWARF", f->has_debug ? "yes (.debug_info)" : "no");
	if (f->debuglink[0])
		printf("%-10s  %s\n", "debuglink", f->debuglink);
	printf("%-10s  %s\n", "symbols", symbols_from(f, buf, sizeof(buf)));
}

static void text_linkage(const struct state *s)
{
	const struct file_info *fi = &s->info[0];
	const char *table = s->r.files[0].has_symtab ? ".symtab" :
			    s->r.files[0].debug_elf ? "its debug file" :
						      ".dynsym";
	int i;

	if (file_has_rows(s, 0)) {
		printf("%-10s  %s: %d rocksdb_* and %d rocksdb:: functions "
		       "defined in %s\n", "rocksdb", s->linkage, fi->ncapi,
		       fi->ncxx, table);
	} else if (!strcmp(s->linkage, "dynamic") ||
		   !strcmp(s->linkage, "embedded")) {
		printf("%-10s  %s: %d imports", "rocksdb", s->linkage,
		       fi->nimports);
		if (s->t.needed[0])
			printf(", NEEDED %s", s->t.needed);
		for (i = 1; i < s->r.nfiles; i++)
			printf(", %s %s", s->t.pid ? "mapped" : "found",
			       shown_path(s, i));
		if (s->t.needed[0] && !s->t.pid && s->r.nfiles == 1)
			printf(" (not found)");
		printf("\n");
	} else if (!strcmp(s->linkage, "stripped")) {
		printf("%-10s  unknown: no .symtab and no debug file, but the "
		       "file mentions rocksdb (a stripped static build?)\n",
		       "rocksdb");
	} else {
		printf("%-10s  absent: no rocksdb symbols\n", "rocksdb");
	}
}

static void text_layer(const struct state *s)
{
	if (s->foreign)
		printf("%-10s  none: ckb-rdblat probes x86-64 ELF64 programs "
		       "only\n", "layer");
	else
		printf("%-10s  %s (rows marked * are what ckb-rdblat "
		       "attaches)\n", "layer", layer_choice_name(s->r.choice));
}

#define SYMW 58

/* A row's symbol for the table: rocksdb:: and std::string spelled short
 * inside the parameter list, cut at SYMW columns. */
static const char *short_symbol(const char *sym, char *buf, size_t len)
{
	static const char *const longs[] = {
		"std::__cxx11::basic_string<char, std::char_traits<char>, "
		"std::allocator<char> >", "std::__cxx11::basic_string<char",
		"rocksdb::",
	};
	static const char *const shorts[] = { "string", "string", "" };
	const char *paren = strchr(sym, '(');
	size_t n = 0, k;

	while (*sym && n + 1 < len) {
		for (k = 0; paren && sym > paren && k < ARRAY_SIZE(longs); k++)
			if (strncmp(sym, longs[k], strlen(longs[k])) == 0)
				break;
		if (paren && sym > paren && k < ARRAY_SIZE(longs)) {
			n += (size_t)snprintf(buf + n, len - n, "%s",
					      shorts[k]);
			sym += strlen(longs[k]);
			continue;
		}
		buf[n++] = *sym++;
	}
	buf[n < len ? n : len - 1] = '\0';
	if (strlen(buf) > SYMW)
		strcpy(buf + SYMW - 3, "...");
	return buf;
}

static void text_row(const struct state *s, int row)
{
	const struct catalog_row *cr = &catalog_rows[row];
	const struct catalog_hit *h;
	char mark = row_probed(s, row) ? '*' : ' ', sym[256];
	int i, k;
	bool any = false;

	short_symbol(cr->symbol, sym, sizeof(sym));
	for (i = 0; i < s->r.nhits; i++) {
		h = &s->r.hits[i];
		if (h->row != cr)
			continue;
		for (k = 0; k < h->nsites; k++) {
			printf("%c %-18s %-6s %-*s  0x%-9llx 0x%-9llx %7llu",
			       mark, catalog_ops[cr->op].name,
			       layer_short(cr->layer), SYMW, sym,
			       (unsigned long long)h->addr[k],
			       (unsigned long long)h->offset[k],
			       (unsigned long long)h->size[k]);
			if (s->r.nfiles > 1)
				printf("  %s", base_name(shown_path(s, h->file)));
			printf("\n");
			any = true;
		}
	}
	if (!any)
		printf("%c %-18s %-6s %-*s  missing\n", mark,
		       catalog_ops[cr->op].name, layer_short(cr->layer), SYMW,
		       sym);
}

static void text_catalog(const struct state *s)
{
	int i;

	printf("\n  %-18s %-6s %-*s  %-11s %-11s %7s%s\n", "OP", "LAYER",
	       SYMW, "SYMBOL", "ADDRESS", "OFFSET", "SIZE",
	       s->r.nfiles > 1 ? "  FILE" : "");
	for (i = 0; i < catalog_nrows; i++)
		text_row(s, i);
}

static void text_core(const struct state *s)
{
	uint32_t core = catalog_core(&s->r), missing = core & ~s->probed;
	int i, nc = 0, nok = 0;

	for (i = 0; i < catalog_nops; i++) {
		nc += !!(core & (1u << i));
		nok += !!(core & s->probed & (1u << i));
	}
	printf("\n%-10s  %d/%d resolved (%s layer)", "core", nok, nc,
	       layer_choice_name(s->r.choice));
	if (missing) {
		printf("; missing:");
		for (i = 0; i < catalog_nops; i++)
			if (missing & (1u << i))
				printf(" %s", catalog_ops[i].name);
	}
	printf("\n");
}

static void text_funcs(const struct state *s, int file)
{
	const struct file_info *fi = &s->info[file];
	const struct rfunc *f;
	char off[24];
	int i;

	printf("\nfunctions in %s: %d\n", shown_path(s, file), fi->nfuncs);
	if (!fi->nfuncs)
		return;
	printf("  %-11s %-11s %7s  %s\n", "ADDRESS", "OFFSET", "SIZE", "NAME");
	for (i = 0; i < fi->nfuncs; i++) {
		f = &fi->funcs[i];
		if (!f->defined) {
			printf("  %-11s %-11s %7s  %s\n", "import", "-", "-",
			       func_name(f));
			continue;
		}
		offset_text(&s->r.files[file], f->addr, off, sizeof(off));
		printf("  0x%-9llx %-11s %7llu  %s\n",
		       (unsigned long long)f->addr, off,
		       (unsigned long long)f->size, func_name(f));
	}
}

static int text_usdt_cb(const struct usdt_note *n, void *arg)
{
	printf("  %s:%s  pc 0x%llx", n->provider, n->name,
	       (unsigned long long)n->pc);
	if (n->pc_offset)
		printf(" (offset 0x%llx)", (unsigned long long)n->pc_offset);
	if (n->semaphore)
		printf("  semaphore 0x%llx (offset 0x%llx)",
		       (unsigned long long)n->semaphore,
		       (unsigned long long)n->sem_offset);
	printf("  args: %s\n", n->nargs ? n->argspec : "none");
	return 0;
}

static void text_usdt(const struct state *s)
{
	int i;

	for (i = 0; i < s->r.nfiles; i++) {
		if (s->info[i].nusdt < 0) {
			printf("\n%-10s  unreadable .note.stapsdt in %s\n",
			       "usdt", shown_path(s, i));
			continue;
		}
		printf("\n%-10s  %d probes in %s\n", "usdt", s->info[i].nusdt,
		       shown_path(s, i));
		usdt_notes(&s->r.files[i], text_usdt_cb, NULL);
	}
}

static void print_text(const struct state *s)
{
	int i;

	for (i = 0; i < s->r.nfiles; i++) {
		if (i)
			printf("\n");
		text_file(s, i);
	}
	if (s->r.nfiles > 1)
		printf("\n");
	text_linkage(s);
	text_layer(s);
	text_catalog(s);
	text_core(s);
	text_usdt(s);
	for (i = 0; s->o.all && i < s->r.nfiles; i++)
		text_funcs(s, i);
}

/* ---- JSON: one document ---- */

static void json_kv(const char *key, const char *val, bool comma)
{
	printf("\"%s\":", key);
	if (val)
		json_string(stdout, val);
	else
		printf("null");
	if (comma)
		putchar(',');
}

static void json_file(const struct state *s, int i)
{
	const struct elf_file *f = &s->r.files[i];
	const struct file_info *fi = &s->info[i];

	printf("{");
	json_kv("path", shown_path(s, i), true);
	json_kv("class", f->elf_class == ELFCLASS64 ? "ELF64" :
		f->elf_class == ELFCLASS32 ? "ELF32" : "unknown", true);
	json_kv("machine", machine_name(f->machine), true);
	printf("\"e_machine\":%d,", f->machine);
	json_kv("type", type_name(f), true);
	json_kv("build_id", f->build_id[0] ? f->build_id : NULL, true);
	json_kv("debuglink", f->debuglink[0] ? f->debuglink : NULL, true);
	json_kv("debug_file", f->debug_elf ? in_process(f->debug_path) : NULL,
		true);
	json_kv("debug_found_by", f->debug_elf ? f->debug_how : NULL, true);
	json_kv("symbols_from", symbols_path(s, i), true);
	printf("\"size\":%llu,\"symtab\":%s,\"symtab_symbols\":%zu,"
	       "\"dynsym_symbols\":%zu,\"dwarf\":%s,\"rocksdb_functions\":%d,"
	       "\"rocksdb_cxx_functions\":%d,\"rocksdb_imports\":%d,"
	       "\"usdt_probes\":%d}",
	       (unsigned long long)f->file_size,
	       f->has_symtab ? "true" : "false", fi->nsymtab, fi->ndynsym,
	       f->has_debug ? "true" : "false", fi->ncapi, fi->ncxx,
	       fi->nimports, fi->nusdt < 0 ? 0 : fi->nusdt);
}

static void json_row(const struct state *s, int row)
{
	const struct catalog_row *cr = &catalog_rows[row];
	const struct catalog_hit *h = hit_of(s, row);
	int k;

	printf("{\"op\":\"%s\",\"layer\":\"%s\",", catalog_ops[cr->op].name,
	       layer_short(cr->layer));
	json_kv("symbol", cr->symbol, true);
	json_kv("entry", cr->entry_fn, true);
	json_kv("return", cr->return_fn, true);
	printf("\"probed\":%s,\"sites\":[", row_probed(s, row) ? "true" :
	       "false");
	for (k = 0; h && k < h->nsites; k++)
		printf("%s{\"file\":%d,\"address\":%llu,\"offset\":%llu,"
		       "\"size\":%llu}", k ? "," : "", h->file,
		       (unsigned long long)h->addr[k],
		       (unsigned long long)h->offset[k],
		       (unsigned long long)h->size[k]);
	printf("]}");
}

static void json_ops(uint32_t mask)
{
	bool first = true;
	int i;

	printf("[");
	for (i = 0; i < catalog_nops; i++) {
		if (!(mask & (1u << i)))
			continue;
		printf("%s\"%s\"", first ? "" : ",", catalog_ops[i].name);
		first = false;
	}
	printf("]");
}

/* The operations: name, whether it is core to this target's layer, the
 * ops whose probes it needs (always) and guards (with nesting: the ops
 * whose calls make it), off by default, probed here and why not, and the
 * symbols of each layer, so that a test or a script can go from an
 * operation to its functions. */
static void json_op_table(const struct state *s)
{
	static const struct { const char *key; enum layer l; } layers[] = {
		{ "capi", LAYER_CAPI }, { "cxx", LAYER_CXX }, { "bg", LAYER_BG },
	};
	uint32_t core = catalog_core(&s->r);
	char why[512];
	int i, k, row;

	printf("\"ops\":[");
	for (i = 0; i < catalog_nops; i++) {
		printf("%s{\"name\":\"%s\",\"core\":%s,\"needs\":",
		       i ? "," : "", catalog_ops[i].name,
		       core & (1u << i) ? "true" : "false");
		json_ops(catalog_ops[i].needs);
		printf(",\"guards\":");
		json_ops(catalog_ops[i].guards);
		printf(",\"off\":%s,\"probed\":%s,\"why\":",
		       catalog_ops[i].off ? "true" : "false",
		       s->probed & (1u << i) ? "true" : "false");
		if (s->probed & (1u << i)) {
			printf("null");
		} else {
			catalog_why(&s->r, &s->t, i, why, sizeof(why));
			json_string(stdout, why);
		}
		for (k = 0; k < (int)ARRAY_SIZE(layers); k++) {
			bool first = true;

			printf(",\"%s\":[", layers[k].key);
			for (row = 0; row < catalog_nrows; row++) {
				if (catalog_rows[row].op != i ||
				    catalog_rows[row].layer != layers[k].l)
					continue;
				printf("%s", first ? "" : ",");
				json_string(stdout, catalog_rows[row].symbol);
				first = false;
			}
			printf("]");
		}
		printf("}");
	}
	printf("],");
}

static void json_funcs(const struct state *s)
{
	const struct rfunc *f;
	uint64_t off;
	int i, k;
	bool first = true;

	printf(",\"functions\":[");
	for (i = 0; i < s->r.nfiles; i++) {
		for (k = 0; k < s->info[i].nfuncs; k++) {
			f = &s->info[i].funcs[k];
			printf("%s{\"file\":%d,", first ? "" : ",", i);
			first = false;
			json_kv("name", func_name(f), true);
			json_kv("mangled", f->demangled ? f->name : NULL, true);
			if (!f->defined) {
				printf("\"defined\":false}");
				continue;
			}
			printf("\"defined\":true,\"address\":%llu,\"size\":%llu,"
			       "\"offset\":", (unsigned long long)f->addr,
			       (unsigned long long)f->size);
			if (elf_vaddr_to_offset(&s->r.files[i], f->addr, &off))
				printf("null}");
			else
				printf("%llu}", (unsigned long long)off);
		}
	}
	printf("]");
}

struct json_usdt_ctx {
	int file;
	bool first;
};

static int json_usdt_cb(const struct usdt_note *n, void *arg)
{
	struct json_usdt_ctx *c = arg;
	int i;

	printf("%s{\"file\":%d,", c->first ? "" : ",", c->file);
	c->first = false;
	json_kv("provider", n->provider, true);
	json_kv("name", n->name, true);
	printf("\"pc\":%llu,\"pc_offset\":%llu,\"base\":%llu,"
	       "\"semaphore\":%llu,\"semaphore_offset\":%llu,",
	       (unsigned long long)n->pc, (unsigned long long)n->pc_offset,
	       (unsigned long long)n->base, (unsigned long long)n->semaphore,
	       (unsigned long long)n->sem_offset);
	json_kv("argspec", n->argspec, true);
	printf("\"args\":[");
	for (i = 0; i < n->nargs; i++) {
		printf("%s", i ? "," : "");
		json_string(stdout, n->args[i].spec);
	}
	printf("]}");
	return 0;
}

static void json_usdt(const struct state *s)
{
	struct json_usdt_ctx c = { 0, true };

	printf(",\"usdt\":[");
	for (c.file = 0; c.file < s->r.nfiles; c.file++)
		usdt_notes(&s->r.files[c.file], json_usdt_cb, &c);
	printf("]");
}

static void print_json(const struct state *s)
{
	uint32_t core = catalog_core(&s->r);
	int i;

	printf("{\"files\":[");
	for (i = 0; i < s->r.nfiles; i++) {
		if (i)
			printf(",");
		json_file(s, i);
	}
	printf("],");
	json_kv("rocksdb", s->linkage, true);
	json_kv("needed", s->t.needed[0] ? s->t.needed : NULL, true);
	json_kv("layer", s->foreign ? NULL : layer_choice_name(s->r.choice),
		true);
	json_op_table(s);
	printf("\"catalog\":[");
	for (i = 0; i < catalog_nrows; i++) {
		if (i)
			printf(",");
		json_row(s, i);
	}
	printf("],\"core\":{\"resolved\":");
	json_ops(core & s->probed);
	printf(",\"missing\":");
	json_ops(core & ~s->probed);
	printf("}");
	json_usdt(s);
	if (s->o.all)
		json_funcs(s);
	printf("}\n");
}

static void free_state(struct state *s)
{
	int i, k;

	for (i = 0; i < CATALOG_MAX_FILES; i++) {
		for (k = 0; k < s->info[i].nfuncs; k++)
			free(s->info[i].funcs[k].demangled);
		free(s->info[i].funcs);
	}
	resolution_free(&s->r);
}

static int verdict(const struct state *s)
{
	uint32_t missing = catalog_core(&s->r) & ~s->probed;
	char names[256] = "", why[512];
	int i;

	const struct elf_file *exe = &s->r.files[0];
	const char *m = machine_name(exe->machine);

	if (s->foreign) {
		msg("%s is an %s %s file; ckb-rdblat probes x86-64 ELF64 "
		    "programs only", s->t.exe_shown,
		    exe->elf_class == ELFCLASS64 ? "ELF64" : "ELF32",
		    m ? m : "foreign");
		return EXIT_MISSING;
	}
	if (!missing)
		return 0;
	/* nothing of the core: why, as ckb-rdblat would say it */
	if (missing == catalog_core(&s->r) && (!strcmp(s->linkage, "stripped") ||
	    !strcmp(s->linkage, "absent") || (s->t.needed[0] &&
					       s->r.nfiles == 1))) {
		char what[1024], remedy[PATH_MAX + 64];

		catalog_explain(&s->r, &s->t, missing, what, sizeof(what),
				remedy, sizeof(remedy));
		msg("%s; %s", what, remedy);
		return EXIT_MISSING;
	}
	catalog_op_list(missing, ",", names, sizeof(names));
	for (i = 0; i < catalog_nops && !(missing & (1u << i)); i++)
		;
	catalog_why(&s->r, &s->t, i, why, sizeof(why));
	msg("no symbol for core operations %s in %s (%s layer: %s); "
	    "ckb-rdblat will not see them", names, s->t.exe_shown,
	    layer_choice_name(s->r.choice), why);
	return EXIT_MISSING;
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc;

	prog_name = "ckb-symbols";
	parse_opts(&s.o, argc, argv);
	rc = find_target(&s);
	if (!rc)
		rc = analyse(&s);
	if (!rc) {
		if (s.o.json)
			print_json(&s);
		else
			print_text(&s);
		fflush(stdout);
		rc = ferror(stdout) ? 1 : verdict(&s);
	}
	free_state(&s);
	return rc;
}
