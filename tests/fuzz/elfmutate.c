/* elfmutate SEED IN OUT: one damaged copy of an ELF file, the same for
 * the same seed.  The damage lands where the readers look (headers,
 * program and section header tables, symbol tables, notes, string
 * tables) or cuts the file short; seed % 8 picks the kind, so any eight
 * consecutive seeds cover every kind.  Prints what it did, one line. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct range {
	uint64_t off, len;
};

static uint64_t rng_state;

/* splitmix64: small, and the same numbers on every machine */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* a number in [0, n); 0 when n is 0 */
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static unsigned char *buf;
static uint64_t size;

/* Values that sit on the edges parsers get wrong. */
static uint64_t edge_value(void)
{
	const uint64_t fixed[] = {
		0, 1, 2, 7, 8, 0x40, 0x7f, 0x80, 0xff, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		0x7fffffffffffffffULL, 0xffffffffffffffffULL,
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	uint64_t k = below(nfixed + 5);

	if (k < nfixed)
		return fixed[k];
	switch (k - nfixed) {
	case 0: return size;
	case 1: return size - 1;
	case 2: return size + 1;
	case 3: return size / 2;
	default: return rnd();
	}
}

static void put(uint64_t off, int width, uint64_t v)
{
	int i;

	for (i = 0; i < width && off + (uint64_t)i < size; i++)
		buf[off + (uint64_t)i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get(uint64_t off, int width)
{
	uint64_t v = 0;
	int i;

	for (i = width - 1; i >= 0; i--)
		v = (v << 8) | (off + (uint64_t)i < size ? buf[off + (uint64_t)i] : 0);
	return v;
}

struct field {
	const char *name;
	int off, width;
};

#define F(type, member) { #member, (int)offsetof(type, member), \
			  (int)sizeof(((type *)0)->member) }
static const struct field ehdr_fields[] = {
	{ "e_ident[EI_CLASS]", EI_CLASS, 1 }, { "e_ident[EI_DATA]", EI_DATA, 1 },
	F(Elf64_Ehdr, e_type), F(Elf64_Ehdr, e_machine),
	F(Elf64_Ehdr, e_entry), F(Elf64_Ehdr, e_phoff),
	F(Elf64_Ehdr, e_shoff), F(Elf64_Ehdr, e_ehsize),
	F(Elf64_Ehdr, e_phentsize), F(Elf64_Ehdr, e_phnum),
	F(Elf64_Ehdr, e_shentsize), F(Elf64_Ehdr, e_shnum),
	F(Elf64_Ehdr, e_shstrndx),
};
static const struct field phdr_fields[] = {
	F(Elf64_Phdr, p_type), F(Elf64_Phdr, p_flags),
	F(Elf64_Phdr, p_offset), F(Elf64_Phdr, p_vaddr),
	F(Elf64_Phdr, p_filesz), F(Elf64_Phdr, p_memsz),
	F(Elf64_Phdr, p_align),
};
static const struct field shdr_fields[] = {
	F(Elf64_Shdr, sh_name), F(Elf64_Shdr, sh_type),
	F(Elf64_Shdr, sh_addr), F(Elf64_Shdr, sh_offset),
	F(Elf64_Shdr, sh_size), F(Elf64_Shdr, sh_link),
	F(Elf64_Shdr, sh_entsize),
};
static const struct field sym_fields[] = {
	F(Elf64_Sym, st_name), F(Elf64_Sym, st_info),
	F(Elf64_Sym, st_shndx), F(Elf64_Sym, st_value),
	F(Elf64_Sym, st_size),
};
#undef F
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Set one field of one table entry at base to an edge value. */
static void set_field(const char *what, uint64_t base,
		      const struct field *fields, size_t nfields)
{
	const struct field *fl = &fields[below(nfields)];
	uint64_t v = edge_value();

	if (fl->width < 8 && below(2))
		v &= (1ULL << (8 * fl->width)) - 1;
	put(base + (uint64_t)fl->off, fl->width, v);
	printf("%s %s = 0x%" PRIx64 "\n", what, fl->name,
	       get(base + (uint64_t)fl->off, fl->width));
}

static int is_elf64(void)
{
	return size >= sizeof(Elf64_Ehdr) && memcmp(buf, ELFMAG, SELFMAG) == 0 &&
	       buf[EI_CLASS] == ELFCLASS64 && buf[EI_DATA] == ELFDATA2LSB;
}

/* The sections of the original file of one sh_type (0: any), clipped to
 * the file. */
static size_t sections(uint32_t type, struct range *out, size_t max)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	size_t n = 0, i;

	if (!is_elf64() || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > size ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size - eh->e_shoff)
		return 0;
	for (i = 0; i < eh->e_shnum && n < max; i++) {
		const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff) + i;

		if ((type && sh->sh_type != type) || sh->sh_type == SHT_NOBITS ||
		    !sh->sh_size || sh->sh_offset >= size ||
		    sh->sh_size > size - sh->sh_offset)
			continue;
		out[n++] = (struct range){ sh->sh_offset, sh->sh_size };
	}
	return n;
}

static void truncate_file(void)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	uint64_t len;

	switch (is_elf64() ? below(4) : 3) {
	case 0:		/* inside the ELF header */
		len = below(sizeof(Elf64_Ehdr));
		break;
	case 1:		/* before the program headers end */
		len = below(eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize + 1);
		break;
	case 2:		/* inside the section header table, at the end */
		len = eh->e_shoff < size ? eh->e_shoff + below(size - eh->e_shoff) :
					   below(size);
		break;
	default:
		len = below(size);
	}
	if (len > size)
		len = size;
	printf("truncated to %" PRIu64 " of %" PRIu64 " bytes\n", len, size);
	size = len;
}

static void damage_table(const char *what, uint64_t off, uint16_t num,
			 uint16_t entsize, size_t want,
			 const struct field *fields, size_t nfields)
{
	uint64_t i;
	char label[64];

	if (!num || entsize != want || off >= size) {
		truncate_file();
		return;
	}
	i = below(num);
	snprintf(label, sizeof(label), "%s %" PRIu64, what, i);
	set_field(label, off + i * entsize, fields, nfields);
}

static void damage_symbol(void)
{
	struct range r[64];
	size_t n = sections(SHT_SYMTAB, r, 32);
	uint64_t count, i;

	n += sections(SHT_DYNSYM, r + n, 64 - n);
	if (!n) {
		truncate_file();
		return;
	}
	i = below(n);
	count = r[i].len / sizeof(Elf64_Sym);
	if (!count) {
		truncate_file();
		return;
	}
	printf("symbol table at 0x%" PRIx64 ": ", r[i].off);
	set_field("symbol", r[i].off + below(count) * sizeof(Elf64_Sym),
		  sym_fields, NFIELDS(sym_fields));
}

static void damage_note(void)
{
	struct range r[64];
	size_t n = sections(SHT_NOTE, r, 64);
	uint64_t at;

	if (!n) {
		truncate_file();
		return;
	}
	n = below(n);
	at = r[n].off + (below(r[n].len) & ~3ULL);
	if (below(2)) {
		put(at, 4, edge_value());
		printf("note word at 0x%" PRIx64 " = 0x%" PRIx64 "\n", at, get(at, 4));
	} else {
		buf[at] ^= (unsigned char)(1u << below(8));
		printf("note byte at 0x%" PRIx64 " flipped\n", at);
	}
}

static void damage_strings(void)
{
	struct range r[64];
	size_t n = sections(SHT_STRTAB, r, 64);
	uint64_t at, len, i;
	unsigned char fill;

	if (!n) {
		truncate_file();
		return;
	}
	n = below(n);
	at = r[n].off + below(r[n].len);
	len = 1 + below(64);
	fill = below(2) ? 'A' : 0;
	for (i = 0; i < len && at + i < size; i++)
		buf[at + i] = fill;
	printf("string table bytes 0x%" PRIx64 "+%" PRIu64 " = 0x%02x\n", at,
	       len, fill);
}

/* A few bit flips in the headers and tables, anywhere in them. */
static void flip_bits(void)
{
	struct range r[80];
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	size_t n = 0, k, flips = 1 + below(16);
	uint64_t at;

	if (is_elf64()) {
		r[n++] = (struct range){ 0, sizeof(Elf64_Ehdr) };
		r[n++] = (struct range){ eh->e_phoff,
			(uint64_t)eh->e_phnum * eh->e_phentsize };
		r[n++] = (struct range){ eh->e_shoff,
			(uint64_t)eh->e_shnum * eh->e_shentsize };
		n += sections(0, r + n, 80 - n);
	} else {
		r[n++] = (struct range){ 0, size };
	}
	printf("%zu bit flips:", flips);
	for (k = 0; k < flips; k++) {
		const struct range *p = &r[below(n)];

		at = p->off + below(p->len);
		if (at >= size)
			at = below(size);
		if (!size)
			break;
		buf[at] ^= (unsigned char)(1u << below(8));
		printf(" 0x%" PRIx64, at);
	}
	printf("\n");
}

static void mutate(uint64_t seed)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

	rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
	if (!size)
		return (void)printf("empty file, unchanged\n");
	if (!is_elf64() && seed % 8 != 0)
		return flip_bits();
	switch (seed % 8) {
	case 0:
		truncate_file();
		break;
	case 1:
		set_field("ELF header", 0, ehdr_fields, NFIELDS(ehdr_fields));
		break;
	case 2:
		damage_table("program header", eh->e_phoff, eh->e_phnum,
			     eh->e_phentsize, sizeof(Elf64_Phdr), phdr_fields,
			     NFIELDS(phdr_fields));
		break;
	case 3:
		damage_table("section header", eh->e_shoff, eh->e_shnum,
			     eh->e_shentsize, sizeof(Elf64_Shdr), shdr_fields,
			     NFIELDS(shdr_fields));
		break;
	case 4:
		damage_symbol();
		break;
	case 5:
		damage_note();
		break;
	case 6:
		damage_strings();
		break;
	default:
		flip_bits();
		if (below(4) == 0)
			truncate_file();
	}
}

int main(int argc, char **argv)
{
	FILE *in, *out;
	char *end;
	uint64_t seed;
	long len;

	if (argc != 4) {
		fprintf(stderr, "usage: elfmutate SEED IN OUT\n");
		return 2;
	}
	errno = 0;
	seed = strtoull(argv[1], &end, 10);
	if (errno || *end || end == argv[1]) {
		fprintf(stderr, "elfmutate: bad seed '%s'\n", argv[1]);
		return 2;
	}
	in = fopen(argv[2], "rb");
	if (!in || fseek(in, 0, SEEK_END) != 0 || (len = ftell(in)) < 0 ||
	    fseek(in, 0, SEEK_SET) != 0) {
		fprintf(stderr, "elfmutate: cannot read %s\n", argv[2]);
		return 1;
	}
	size = (uint64_t)len;
	buf = malloc(size ? size : 1);
	if (!buf || fread(buf, 1, size, in) != size) {
		fprintf(stderr, "elfmutate: cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(in);
	printf("seed %" PRIu64 ": ", seed);
	mutate(seed);
	out = fopen(argv[3], "wb");
	if (!out || fwrite(buf, 1, size, out) != size || fclose(out) != 0) {
		fprintf(stderr, "elfmutate: cannot write %s\n", argv[3]);
		return 1;
	}
	free(buf);
	return 0;
}
