/* USDT notes: x86-64 argument specs, and the notes of the usdt-node
 * fixture with their file offsets cross-checked through the sections. */
#include <asm/ptrace.h>
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "usdt.h"
#include "util.h"

#define REG(f) ((int)(offsetof(struct pt_regs, f) / 8))

struct arg_case {
	const char *spec;
	int rc;
	enum usdt_arg_kind kind;
	int size;
	int reg;
	int64_t val;
};

static const struct arg_case arg_cases[] = {
	{ "-4@%eax", 0, USDT_ARG_REG, -4, REG(rax), 0 },
	{ "8@%rbp", 0, USDT_ARG_REG, 8, REG(rbp), 0 },
	{ "-4@%r13d", 0, USDT_ARG_REG, -4, REG(r13), 0 },
	{ "2@%r8w", 0, USDT_ARG_REG, 2, REG(r8), 0 },
	{ "1@%sil", 0, USDT_ARG_REG, 1, REG(rsi), 0 },
	{ "-1@%dil", 0, USDT_ARG_REG, -1, REG(rdi), 0 },
	{ "2@%ax", 0, USDT_ARG_REG, 2, REG(rax), 0 },
	{ "8@%rsp", 0, USDT_ARG_REG, 8, REG(rsp), 0 },
	{ "8@8(%rbx)", 0, USDT_ARG_MEM, 8, REG(rbx), 8 },
	{ "-4@(%rbx)", 0, USDT_ARG_MEM, -4, REG(rbx), 0 },
	{ "-8@-16(%rbp)", 0, USDT_ARG_MEM, -8, REG(rbp), -16 },
	{ "-4@112(%rsp)", 0, USDT_ARG_MEM, -4, REG(rsp), 112 },
	{ "4@0x10(%r15)", 0, USDT_ARG_MEM, 4, REG(r15), 16 },
	{ "-4@$70016", 0, USDT_ARG_CONST, -4, -1, 70016 },
	{ "-4@$-1", 0, USDT_ARG_CONST, -4, -1, -1 },
	{ "8@$0x7f", 0, USDT_ARG_CONST, 8, -1, 127 },
	{ "%rdi", 0, USDT_ARG_REG, 8, REG(rdi), 0 },
	{ "-4@node_epoch(%rip)", 0, USDT_ARG_UNSUPPORTED, -4, -1, 0 },
	{ "8@16(%rip)", 0, USDT_ARG_UNSUPPORTED, 8, -1, 0 },
	{ "8@(%rax,%rbx,8)", 0, USDT_ARG_UNSUPPORTED, 8, -1, 0 },
	{ "8@8(%rax,%rcx)", 0, USDT_ARG_UNSUPPORTED, 8, -1, 0 },
	{ "1@%ah", 0, USDT_ARG_UNSUPPORTED, 1, -1, 0 },
	{ "8@%fs:40", 0, USDT_ARG_UNSUPPORTED, 8, -1, 0 },
	{ "8@$sym", 0, USDT_ARG_UNSUPPORTED, 8, -1, 0 },
	{ "4@%xmm0", 0, USDT_ARG_UNSUPPORTED, 4, -1, 0 },
	{ "8@8(%rbx", 0, USDT_ARG_UNSUPPORTED, 8, -1, 0 },
	{ "3@%eax", -EINVAL, 0, 0, 0, 0 },
	{ "@%eax", -EINVAL, 0, 0, 0, 0 },
	{ "8@", -EINVAL, 0, 0, 0, 0 },
	{ "x@%eax", -EINVAL, 0, 0, 0, 0 },
};

static void check_arg_case(const struct arg_case *c)
{
	struct usdt_arg a;
	int rc = usdt_arg_parse(c->spec, &a);

	ok(rc == c->rc, "'%s' parses with %d (got %d)", c->spec, c->rc, rc);
	if (rc || c->rc)
		return;
	ok(a.kind == c->kind && a.size == c->size && a.reg == c->reg &&
	   a.val == c->val && strcmp(a.spec, c->spec) == 0,
	   "'%s' -> kind %d size %d reg %d val %lld (got %d %d %d %lld)",
	   c->spec, c->kind, c->size, c->reg, (long long)c->val, a.kind,
	   a.size, a.reg, (long long)a.val);
}

static void check_specs(void)
{
	struct usdt_arg args[USDT_MAX_ARGS];
	size_t i;
	int n;

	for (i = 0; i < ARRAY_SIZE(arg_cases); i++)
		check_arg_case(&arg_cases[i]);
	n = usdt_args_parse("  -4@%eax   8@%rbp\t-4@node_epoch(%rip) 3@x ",
			    args, USDT_MAX_ARGS);
	ok(n == 4, "four specs split on blanks (got %d)", n);
	ok(n == 4 && args[0].kind == USDT_ARG_REG &&
	   args[2].kind == USDT_ARG_UNSUPPORTED &&
	   args[3].kind == USDT_ARG_UNSUPPORTED,
	   "an unreadable or malformed spec is kept, marked unsupported");
	n = usdt_args_parse("1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al "
			    "1@%al 1@%al 1@%al 1@%al 1@%al 1@%al", args,
			    USDT_MAX_ARGS);
	ok(n == -E2BIG, "13 specs are too many (got %d)", n);
	ok(usdt_args_parse("", args, USDT_MAX_ARGS) == 0, "no specs: 0");
	ok(strcmp(usdt_reg_name(REG(rdi)), "rdi") == 0 &&
	   strcmp(usdt_reg_name(REG(r13)), "r13") == 0 &&
	   strcmp(usdt_reg_name(REG(rsp)), "rsp") == 0,
	   "register names are the 64-bit ones");
	ok(strcmp(usdt_reg_name(99), "?") == 0 &&
	   strcmp(usdt_reg_name(-1), "?") == 0, "unknown register index: ?");
}

/* The file offset through the section holding addr: an independent
 * route to the one usdt_notes takes through PT_LOAD. */
static uint64_t offset_by_section(const struct elf_file *f, uint64_t addr,
				  char *name, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;

	elf_getshdrstrndx(f->elf, &shstrndx);
	while ((scn = elf_nextscn(f->elf, scn))) {
		gelf_getshdr(scn, &sh);
		if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_ALLOC) &&
		    addr >= sh.sh_addr && addr < sh.sh_addr + sh.sh_size) {
			snprintf(name, len, "%s",
				 elf_strptr(f->elf, shstrndx, sh.sh_name));
			return addr - sh.sh_addr + sh.sh_offset;
		}
	}
	return (uint64_t)-1;
}

struct seen {
	int n;
	struct usdt_note notes[8];
};

static int collect(const struct usdt_note *n, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->notes[s->n] = *n;
	s->n++;
	return 0;
}

static int stop_first(const struct usdt_note *n, void *arg)
{
	(void)n;
	(*(int *)arg)++;
	return 1;
}

static const struct usdt_note *find(const struct seen *s, const char *prov,
				    const char *name)
{
	int i;

	for (i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->notes[i].provider, prov) == 0 &&
		    strcmp(s->notes[i].name, name) == 0)
			return &s->notes[i];
	return NULL;
}

static void check_offsets(const struct elf_file *f, const struct usdt_note *n)
{
	char sec[64] = "";
	uint64_t off = offset_by_section(f, n->pc, sec, sizeof(sec));

	ok(n->pc_offset == off && strcmp(sec, ".text") == 0,
	   "%s:%s location 0x%llx in .text at offset 0x%llx (section route "
	   "0x%llx)", n->provider, n->name, (unsigned long long)n->pc,
	   (unsigned long long)n->pc_offset, (unsigned long long)off);
	if (!n->semaphore) {
		ok(n->sem_offset == 0, "%s:%s has no semaphore", n->provider,
		   n->name);
		return;
	}
	off = offset_by_section(f, n->semaphore, sec, sizeof(sec));
	ok(n->sem_offset == off && strcmp(sec, ".probes") == 0,
	   "%s:%s semaphore in .probes at offset 0x%llx (section route "
	   "0x%llx)", n->provider, n->name,
	   (unsigned long long)n->sem_offset, (unsigned long long)off);
}

static void check_fixture(void)
{
	const char *path = getenv("USDT_NODE");
	const struct usdt_note *n;
	struct elf_file f;
	struct seen s = { 0 };
	int rc, stops = 0, i;

	if (!path) {
		ok(0, "USDT_NODE is set");
		return;
	}
	rc = elf_open(&f, path);
	ok(rc == 0, "the fixture opens");
	if (rc)
		return;
	rc = usdt_notes(&f, collect, &s);
	ok(rc == 4 && s.n == 4, "the fixture has 4 notes (got %d)", rc);
	for (i = 0; i < s.n && i < 8; i++)
		check_offsets(&f, &s.notes[i]);
	n = find(&s, "net", "outbound_message");
	ok(n && n->semaphore && n->nargs == 4 &&
	   n->args[0].kind == USDT_ARG_MEM && n->args[0].size == -4,
	   "net:outbound_message: a semaphore and 4 memory args");
	n = find(&s, "net", "inbound_message");
	ok(n && !n->semaphore && n->nargs == 4 &&
	   n->args[0].kind == USDT_ARG_REG && n->args[1].size == 8,
	   "net:inbound_message: no semaphore, int then pointer");
	n = find(&s, "node", "round");
	ok(n && n->nargs == 4 && n->args[0].kind == USDT_ARG_CONST &&
	   n->args[0].val == 70016 && n->args[1].val == -1 &&
	   n->args[3].kind == USDT_ARG_UNSUPPORTED,
	   "node:round: constants 70016 and -1, a rip-relative arg");
	ok(find(&s, "validation", "block_connected") != NULL,
	   "validation:block_connected is there");
	rc = usdt_notes(&f, stop_first, &stops);
	ok(rc == 1 && stops == 1, "a callback returning non-zero stops the "
	   "walk (count %d)", rc);
	elf_close(&f);
}

static void check_no_notes(void)
{
	const char *path = getenv("FIXTURE_PIE");
	struct elf_file f;

	if (!path || elf_open(&f, path) != 0) {
		ok(0, "FIXTURE_PIE opens");
		return;
	}
	ok(usdt_notes(&f, collect, &(struct seen){ 0 }) == 0,
	   "a program without sys/sdt.h probes has 0 notes");
	elf_close(&f);
}

int main(void)
{
	check_specs();
	check_fixture();
	check_no_notes();
	return done_testing();
}
