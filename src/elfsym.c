#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
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
	}
	return 0;
}

int elf_open(struct elf_file *f, const char *path)
{
	struct stat st;
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
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
	f->elf = NULL;
	f->fd = -1;
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

int elf_symbols(const struct elf_file *f, elf_sym_fn fn, void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int r;

	while ((scn = elf_nextscn(f->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return 0;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		r = walk_table(f->elf, scn, &sh, fn, arg);
		if (r)
			return r;
	}
	return 0;
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

bool cxx_prefix_match(const char *mangled, const char *prefix)
{
	char *d;
	int status = 0;
	bool ok;

	if (strncmp(mangled, "_Z", 2) != 0)
		return false;
	d = __cxa_demangle(mangled, NULL, NULL, &status);
	if (!d || status != 0)
		return false;
	/* ")::" would be something nested in the function: a lambda, a
	 * local class, a static's guard */
	ok = strncmp(d, prefix, strlen(prefix)) == 0 && !strstr(d, "[clone") &&
	     !strstr(d, ")::");
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
