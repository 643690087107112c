#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <libiberty/demangle.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"

static void read_build_id(struct elf_file *f, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Nhdr nh;
	size_t off = 0, noff, doff, i;

	(void)sh;
	if (!d)
		return;
	while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((char *)d->d_buf + noff, "GNU", 4) != 0)
			continue;
		for (i = 0; i < nh.n_descsz && i < 20; i++)
			sprintf(f->build_id + 2 * i, "%02x",
				((unsigned char *)d->d_buf)[doff + i]);
		return;
	}
}

/* Does [off, off + len) lie inside a file of size bytes?  Without
 * overflow: a damaged header can hold any 64-bit value. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static void read_debuglink(struct elf_file *f, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	const char *name;
	size_t n, off;

	if (!d || !d->d_buf || d->d_size < 8)
		return;
	name = d->d_buf;
	n = strnlen(name, d->d_size);
	off = (n + 4) & ~(size_t)3;
	if (n == 0 || n >= sizeof(f->debuglink) || off + 4 > d->d_size)
		return;
	memcpy(f->debuglink, name, n);
	f->debuglink[n] = '\0';
	memcpy(&f->debuglink_crc, (char *)d->d_buf + off, 4);
}

static int index_elf(struct elf_file *f)
{
	Elf *e = f->elf;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t shstrndx, nph, i;
	const char *name;

	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
		return -ENOEXEC;
	f->elf_class = gelf_getclass(e);
	f->machine = eh.e_machine;
	f->type = eh.e_type;
	if (elf_getphdrnum(e, &nph) != 0 || elf_getshdrstrndx(e, &shstrndx) != 0)
		return -ENOEXEC;
	/* a file cut short loses its section headers, at the end */
	if (!in_file(eh.e_shoff, (uint64_t)eh.e_shnum * eh.e_shentsize,
		     f->file_size) ||
	    !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * eh.e_phentsize,
		     f->file_size))
		return -ENOEXEC;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(e, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		/* a probe's file offset comes from here: it must be in the
		 * file */
		if (!in_file(ph.p_offset, ph.p_filesz, f->file_size))
			return -ENOEXEC;
		if (f->nloads >= ELF_MAX_LOADS)
			continue;
		f->loads[f->nloads++] = (struct elf_load){
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz,
			.filesz = ph.p_filesz, .offset = ph.p_offset,
			.flags = ph.p_flags,
		};
	}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type != SHT_NOBITS &&
		    !in_file(sh.sh_offset, sh.sh_size, f->file_size))
			return -ENOEXEC;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB)
			f->has_symtab = true;
		else if (sh.sh_type == SHT_DYNSYM)
			f->has_dynsym = true;
		else if (sh.sh_type == SHT_NOTE)
			read_build_id(f, scn, &sh);
		if (name && strcmp(name, ".debug_info") == 0)
			f->has_debug = true;
		if (name && strcmp(name, ".gnu_debuglink") == 0)
			read_debuglink(f, scn);
	}
	return 0;
}

/* ---- separate debug files ---- */

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c;
	int i, k;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static bool crc_matches(int fd, uint32_t want)
{
	unsigned char buf[65536];
	uint32_t crc = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32_update(crc, buf, (size_t)n);
	return n == 0 && crc == want;
}

/* Open a candidate debug file; keep it when it belongs to f (same
 * build-id, or the debuglink's CRC) and has a .symtab. */
static bool try_debug(struct elf_file *f, const char *path, const char *how)
{
	struct elf_file d;
	struct stat st;
	bool ok;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	memset(&d, 0, sizeof(d));
	d.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d.fd < 0)
		return false;
	d.file_size = (uint64_t)st.st_size;
	d.elf = elf_begin(d.fd, ELF_C_READ_MMAP, NULL);
	ok = d.elf && index_elf(&d) == 0 && d.has_symtab;
	if (ok && f->build_id[0] && d.build_id[0])
		ok = strcmp(f->build_id, d.build_id) == 0;
	else if (ok && strcmp(how, ".gnu_debuglink") == 0)
		ok = crc_matches(d.fd, f->debuglink_crc);
	if (!ok) {
		if (d.elf)
			elf_end(d.elf);
		close(d.fd);
		return false;
	}
	snprintf(f->debug_path, sizeof(f->debug_path), "%s", path);
	f->debug_how = how;
	f->debug_fd = d.fd;
	f->debug_elf = d.elf;
	f->debug_has_symtab = true;
	return true;
}

/* The root to look under (a traced process's /proc/PID/root, or "") and
 * the directory of the file as that root sees it ("" if unknown). */
static void debug_context(const char *path, char *root, size_t rlen,
			  char *dir, size_t dlen)
{
	char real[PATH_MAX], tmp[PATH_MAX];
	const char *rest;
	ssize_t n;
	int pid, used = 0;

	root[0] = dir[0] = '\0';
	if (sscanf(path, "/proc/%d/%n", &pid, &used) == 1 && used) {
		snprintf(root, rlen, "/proc/%d/root", pid);
		rest = path + used;
		if (strncmp(rest, "root/", 5) == 0) {
			snprintf(tmp, sizeof(tmp), "/%s", rest + 5);
		} else if (strcmp(rest, "exe") == 0 &&
			   (n = readlink(path, real, sizeof(real) - 1)) > 0) {
			real[n] = '\0';
			snprintf(tmp, sizeof(tmp), "%s", real);
		} else {
			return;
		}
	} else {
		snprintf(tmp, sizeof(tmp), "%s", path);
	}
	snprintf(dir, dlen, "%s", dirname(tmp));
}

static void find_debug(struct elf_file *f, const char *path)
{
	const char *env = getenv("CKBTRACE_DEBUG_DIRS");
	char dirs[PATH_MAX], root[64], odir[PATH_MAX], cand[3 * PATH_MAX];
	const char *roots[2];
	char *dd, *save;
	int nroots, i, k;

	if (f->has_symtab || (!f->build_id[0] && !f->debuglink[0]))
		return;
	debug_context(path, root, sizeof(root), odir, sizeof(odir));
	roots[0] = root;
	roots[1] = "";
	nroots = root[0] ? 2 : 1;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < nroots; i++) {
			snprintf(dirs, sizeof(dirs), "%s",
				 env && *env ? env : "/usr/lib/debug");
			for (dd = strtok_r(dirs, ":", &save); dd;
			     dd = strtok_r(NULL, ":", &save)) {
				if (k == 0 && f->build_id[0])
					snprintf(cand, sizeof(cand),
						 "%s%s/.build-id/%.2s/%s.debug",
						 roots[i], dd, f->build_id,
						 f->build_id + 2);
				else if (k == 1 && f->debuglink[0] && odir[0])
					snprintf(cand, sizeof(cand),
						 "%s%s%s/%s", roots[i], dd,
						 odir, f->debuglink);
				else
					continue;
				if (try_debug(f, cand, k ? ".gnu_debuglink" :
							   "build-id"))
					return;
			}
			if (k == 1 && f->debuglink[0] && odir[0]) {
				snprintf(cand, sizeof(cand), "%s%s/%s",
					 roots[i], odir, f->debuglink);
				if (try_debug(f, cand, ".gnu_debuglink"))
					return;
				snprintf(cand, sizeof(cand), "%s%s/.debug/%s",
					 roots[i], odir, f->debuglink);
				if (try_debug(f, cand, ".gnu_debuglink"))
					return;
			}
		}
	}
}

const char *elf_symbols_source(const struct elf_file *f)
{
	return f->debug_path[0] ? f->debug_path : f->path;
}

int elf_open(struct elf_file *f, const char *path)
{
	struct stat st;
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->debug_fd = -1;
	if (strlen(path) >= sizeof(f->path))
		return -ENAMETOOLONG;
	strcpy(f->path, path);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto fail;
	}
	f->file_size = (uint64_t)st.st_size;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf) {
		err = -ENOEXEC;
		goto fail;
	}
	err = index_elf(f);
	if (err)
		goto fail;
	find_debug(f, path);
	return 0;
fail:
	elf_close(f);
	return err;
}

void elf_close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	if (f->debug_elf)
		elf_end(f->debug_elf);
	if (f->debug_fd >= 0)
		close(f->debug_fd);
	f->elf = NULL;
	f->fd = -1;
	f->debug_elf = NULL;
	f->debug_fd = -1;
}

int elf_vaddr_to_offset(const struct elf_file *f, uint64_t vaddr,
			uint64_t *offset)
{
	int i;

	for (i = 0; i < f->nloads; i++) {
		const struct elf_load *l = &f->loads[i];

		if (vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
			*offset = vaddr - l->vaddr + l->offset;
			return 0;
		}
	}
	return -ENOENT;
}

static int walk_table(Elf *e, Elf_Scn *scn, GElf_Shdr *sh, elf_sym_fn fn,
		      void *arg)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;
	GElf_Sym s;
	const char *name;
	int t, r;

	if (!d || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 1; i < n; i++) {
		if (!gelf_getsym(d, (int)i, &s))
			break;
		t = GELF_ST_TYPE(s.st_info);
		if (t != STT_FUNC && t != STT_GNU_IFUNC)
			continue;
		name = elf_strptr(e, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		r = fn(name, s.st_value, s.st_size, s.st_shndx != SHN_UNDEF,
		       arg);
		if (r)
			return r;
	}
	return 0;
}

static int walk_tables(Elf *e, bool dynsym, elf_sym_fn fn, void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int r;

	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return 0;
		if (sh.sh_type != SHT_SYMTAB &&
		    (!dynsym || sh.sh_type != SHT_DYNSYM))
			continue;
		r = walk_table(e, scn, &sh, fn, arg);
		if (r)
			return r;
	}
	return 0;
}

int elf_symbols(const struct elf_file *f, elf_sym_fn fn, void *arg)
{
	int r = walk_tables(f->elf, true, fn, arg);

	if (!r && f->debug_elf)
		r = walk_tables(f->debug_elf, false, fn, arg);
	return r;
}

struct prefix_query {
	const char *prefix;
	size_t len;
	bool defined;
};

static int prefix_cb(const char *name, uint64_t addr, uint64_t size,
		     bool defined, void *arg)
{
	struct prefix_query *q = arg;

	(void)addr;
	(void)size;
	return defined == q->defined && strncmp(name, q->prefix, q->len) == 0;
}

bool elf_imports_prefix(const struct elf_file *f, const char *prefix)
{
	struct prefix_query q = { prefix, strlen(prefix), false };

	return elf_symbols(f, prefix_cb, &q) != 0;
}

bool elf_defines_prefix(const struct elf_file *f, const char *prefix)
{
	struct prefix_query q = { prefix, strlen(prefix), true };

	return elf_symbols(f, prefix_cb, &q) != 0;
}

bool elf_contains(const struct elf_file *f, const char *needle)
{
	void *map;
	bool found;

	if (!f->file_size)
		return false;
	map = mmap(NULL, f->file_size, PROT_READ, MAP_PRIVATE, f->fd, 0);
	if (map == MAP_FAILED)
		return false;
	found = memmem(map, f->file_size, needle, strlen(needle)) != NULL;
	munmap(map, f->file_size);
	return found;
}

bool elf_is_library(const struct elf_file *f)
{
	size_t nph, i;
	GElf_Phdr ph;

	if (f->type != ET_DYN)
		return false;
	if (elf_getphdrnum(f->elf, &nph) != 0)
		return false;
	for (i = 0; i < nph; i++)
		if (gelf_getphdr(f->elf, (int)i, &ph) && ph.p_type == PT_INTERP)
			return false;
	return true;
}

char *cxx_demangle(const char *mangled)
{
	if (strncmp(mangled, "_Z", 2) != 0)
		return NULL;
	return cplus_demangle(mangled, DMGL_PARAMS | DMGL_ANSI);
}

bool cxx_demangled_match(const char *d, const char *prefix)
{
	/* ")::" would be something nested in the function: a lambda, a
	 * local class, a static's guard */
	return strncmp(d, prefix, strlen(prefix)) == 0 &&
	       !strstr(d, "[clone") && !strstr(d, ")::");
}

bool cxx_prefix_match(const char *mangled, const char *prefix)
{
	char *d = cxx_demangle(mangled);
	bool ok = d && cxx_demangled_match(d, prefix);

	free(d);
	return ok;
}

int cxx_prefix_needle(const char *prefix, char *out, size_t len)
{
	const char *p = prefix, *end;
	size_t used = 0, n;
	int w;

	out[0] = '\0';
	while (*p) {
		/* a destructor is mangled D0/D1/D2, not by its name */
		if (*p == '~')
			break;
		end = p;
		while (*end && *end != ':' && *end != '(' && *end != '<')
			end++;
		n = (size_t)(end - p);
		if (n) {
			w = snprintf(out + used, len - used, "%zu%.*s", n,
				     (int)n, p);
			if (w < 0 || (size_t)w >= len - used)
				return -ENOSPC;
			used += (size_t)w;
		}
		if (*end != ':')
			break;
		p = end;
		while (*p == ':')
			p++;
	}
	return 0;
}
