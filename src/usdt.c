#include <asm/ptrace.h>
#include <ctype.h>
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usdt.h"
#include "util.h"

#define NT_STAPSDT 3
#define REG(field) ((int)(offsetof(struct pt_regs, field) / 8))

struct reg_names {
	const char *name[4];	/* 64, 32, 16 and 8 bits wide */
	int reg;
};

/* The x86-64 general registers sdt.h operands name, by width. */
static const struct reg_names regs[] = {
	{ { "rax", "eax", "ax", "al" }, REG(rax) },
	{ { "rbx", "ebx", "bx", "bl" }, REG(rbx) },
	{ { "rcx", "ecx", "cx", "cl" }, REG(rcx) },
	{ { "rdx", "edx", "dx", "dl" }, REG(rdx) },
	{ { "rsi", "esi", "si", "sil" }, REG(rsi) },
	{ { "rdi", "edi", "di", "dil" }, REG(rdi) },
	{ { "rbp", "ebp", "bp", "bpl" }, REG(rbp) },
	{ { "rsp", "esp", "sp", "spl" }, REG(rsp) },
	{ { "r8", "r8d", "r8w", "r8b" }, REG(r8) },
	{ { "r9", "r9d", "r9w", "r9b" }, REG(r9) },
	{ { "r10", "r10d", "r10w", "r10b" }, REG(r10) },
	{ { "r11", "r11d", "r11w", "r11b" }, REG(r11) },
	{ { "r12", "r12d", "r12w", "r12b" }, REG(r12) },
	{ { "r13", "r13d", "r13w", "r13b" }, REG(r13) },
	{ { "r14", "r14d", "r14w", "r14b" }, REG(r14) },
	{ { "r15", "r15d", "r15w", "r15b" }, REG(r15) },
};

const char *usdt_reg_name(int reg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		if (regs[i].reg == reg)
			return regs[i].name[0];
	return "?";
}

static int reg_by_name(const char *name, size_t len)
{
	size_t i, w;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		for (w = 0; w < 4; w++)
			if (strlen(regs[i].name[w]) == len &&
			    strncmp(regs[i].name[w], name, len) == 0)
				return regs[i].reg;
	return -1;
}

/* "%rdi" at s (exactly len characters): its index, or -1. */
static int parse_reg(const char *s, size_t len)
{
	if (len < 2 || s[0] != '%')
		return -1;
	return reg_by_name(s + 1, len - 1);
}

static int parse_int(const char *s, const char **end, int64_t *v)
{
	char *e;

	if (!isdigit((unsigned char)s[0]) &&
	    !((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])))
		return -EINVAL;
	errno = 0;
	*v = strtoll(s, &e, 0);
	if (errno == ERANGE && s[0] != '-') {
		errno = 0;
		*v = (int64_t)strtoull(s, &e, 0);
	}
	if (errno)
		return -ERANGE;
	*end = e;
	return 0;
}

/* "$imm", "%reg", "off(%reg)", "(%reg)"; anything else is unsupported. */
static void parse_operand(const char *s, struct usdt_arg *a)
{
	const char *end = s, *close;
	int64_t v = 0;

	a->kind = USDT_ARG_UNSUPPORTED;
	if (s[0] == '$') {
		if (parse_int(s + 1, &end, &v) == 0 && !*end) {
			a->kind = USDT_ARG_CONST;
			a->val = v;
		}
		return;
	}
	if (s[0] == '%') {
		a->reg = parse_reg(s, strlen(s));
		if (a->reg >= 0)
			a->kind = USDT_ARG_REG;
		return;
	}
	if (s[0] != '(' && parse_int(s, &end, &v) != 0)
		return;
	close = strchr(end, ')');
	if (end[0] != '(' || !close || close[1])
		return;
	a->reg = parse_reg(end + 1, (size_t)(close - end - 1));
	if (a->reg < 0)
		return;
	a->kind = USDT_ARG_MEM;
	a->val = v;
}

int usdt_arg_parse(const char *spec, struct usdt_arg *a)
{
	const char *at = strchr(spec, '@'), *op = spec;
	int64_t size = 8;

	memset(a, 0, sizeof(*a));
	a->reg = -1;
	if (strlen(spec) >= sizeof(a->spec))
		return -ENAMETOOLONG;
	strcpy(a->spec, spec);
	if (at) {
		if (parse_int(spec, &op, &size) != 0 || op != at)
			return -EINVAL;
		if (size != 1 && size != 2 && size != 4 && size != 8 &&
		    size != -1 && size != -2 && size != -4 && size != -8)
			return -EINVAL;
		op = at + 1;
	}
	if (!*op)
		return -EINVAL;
	a->size = (int)size;
	parse_operand(op, a);
	if (a->kind == USDT_ARG_UNSUPPORTED)
		a->reg = -1;
	return 0;
}

int usdt_args_parse(const char *argspec, struct usdt_arg *args, int max)
{
	char word[sizeof(args[0].spec)];
	const char *p = argspec;
	size_t len;
	int n = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return n;
		len = strcspn(p, " \t\n");
		if (n == max)
			return -E2BIG;
		if (len >= sizeof(word)) {
			memset(&args[n], 0, sizeof(args[n]));
			args[n].kind = USDT_ARG_UNSUPPORTED;
			args[n].reg = -1;
			snprintf(args[n].spec, sizeof(args[n].spec), "%.*s...",
				 (int)sizeof(args[n].spec) - 4, p);
		} else {
			memcpy(word, p, len);
			word[len] = '\0';
			if (usdt_arg_parse(word, &args[n]) != 0)
				args[n].kind = USDT_ARG_UNSUPPORTED;
		}
		n++;
		p += len;
	}
}

static uint64_t read_addr(const unsigned char *p, int size)
{
	uint64_t v = 0;
	uint32_t v32;

	if (size == 8) {
		memcpy(&v, p, 8);
		return v;
	}
	memcpy(&v32, p, 4);
	return v32;
}

static void copy_str(char *dst, size_t len, const char *src, size_t max)
{
	size_t n = strnlen(src, max);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Fill n from one note descriptor; -EINVAL when it is malformed. */
static int decode_note(const struct elf_file *f, const unsigned char *d,
		       size_t len, uint64_t base_addr, struct usdt_note *n)
{
	int asz = f->elf_class == ELFCLASS32 ? 4 : 8;
	const char *s = (const char *)d + 3 * asz, *end = (const char *)d + len;
	const char *prov, *name, *args;

	if (len < (size_t)(3 * asz) + 3)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->pc = read_addr(d, asz);
	n->base = read_addr(d + asz, asz);
	n->semaphore = read_addr(d + 2 * asz, asz);
	prov = s;
	name = memchr(prov, '\0', (size_t)(end - prov));
	if (!name || name + 1 >= end)
		return -EINVAL;
	name++;
	args = memchr(name, '\0', (size_t)(end - name));
	if (!args)
		return -EINVAL;
	args++;
	copy_str(n->provider, sizeof(n->provider), prov, (size_t)(end - prov));
	copy_str(n->name, sizeof(n->name), name, (size_t)(end - name));
	if (args < end)
		copy_str(n->argspec, sizeof(n->argspec), args,
			 (size_t)(end - args));
	if (base_addr && n->base)
		n->pc += base_addr - n->base;
	if (elf_vaddr_to_offset(f, n->pc, &n->pc_offset) != 0)
		n->pc_offset = 0;
	if (n->semaphore &&
	    elf_vaddr_to_offset(f, n->semaphore, &n->sem_offset) != 0)
		n->sem_offset = 0;
	n->nargs = usdt_args_parse(n->argspec, n->args, USDT_MAX_ARGS);
	if (n->nargs < 0)
		n->nargs = USDT_MAX_ARGS;
	return 0;
}

/* Address of .stapsdt.base (0 when absent) and whether any
 * .note.stapsdt exists. */
static int scan_sections(const struct elf_file *f, uint64_t *base)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	const char *name;

	*base = 0;
	if (elf_getshdrstrndx(f->elf, &shstrndx) != 0)
		return -ENOEXEC;
	while ((scn = elf_nextscn(f->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		name = elf_strptr(f->elf, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".stapsdt.base") == 0)
			*base = sh.sh_addr;
	}
	return 0;
}

static int walk_section(const struct elf_file *f, Elf_Scn *scn,
			uint64_t base, usdt_fn fn, void *arg, int *count)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	struct usdt_note n;
	GElf_Nhdr nh;
	size_t off = 0, noff, doff;
	const char *owner;

	if (!d)
		return 0;
	while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		owner = (const char *)d->d_buf + noff;
		if (nh.n_type != NT_STAPSDT || nh.n_namesz != 8 ||
		    memcmp(owner, "stapsdt", 8) != 0)
			continue;
		if (decode_note(f, (const unsigned char *)d->d_buf + doff,
				nh.n_descsz, base, &n) != 0)
			continue;
		(*count)++;
		if (fn && fn(&n, arg))
			return 1;
	}
	return 0;
}

int usdt_notes(const struct elf_file *f, usdt_fn fn, void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	uint64_t base;
	int count = 0, err;

	if (!f->elf)
		return -EINVAL;
	err = scan_sections(f, &base);
	if (err)
		return err;
	while ((scn = elf_nextscn(f->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type != SHT_NOTE)
			continue;
		if (walk_section(f, scn, base, fn, arg, &count))
			break;
	}
	return count;
}
