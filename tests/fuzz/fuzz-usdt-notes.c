/* libFuzzer harness: the .note.stapsdt reader (src/usdt.c) on any bytes
 * that elf_open() accepts. */
#include <errno.h>
#include <string.h>

#include "elfsym.h"
#include "usdt-check.h"

struct walk {
	const struct elf_file *f;
	int seen;
};

static int on_note(const struct usdt_note *n, void *arg)
{
	struct walk *w = arg;
	int i;

	w->seen++;
	FUZZ_ASSERT(memchr(n->provider, '\0', sizeof(n->provider)));
	FUZZ_ASSERT(memchr(n->name, '\0', sizeof(n->name)));
	FUZZ_ASSERT(memchr(n->argspec, '\0', sizeof(n->argspec)));
	FUZZ_ASSERT(n->nargs >= 0 && n->nargs <= USDT_MAX_ARGS);
	FUZZ_ASSERT(n->pc_offset < w->f->file_size);
	FUZZ_ASSERT(n->sem_offset < w->f->file_size);
	if (!n->semaphore)
		FUZZ_ASSERT(n->sem_offset == 0);
	for (i = 0; i < n->nargs; i++)
		check_arg(&n->args[i]);
	return 0;
}

static int stop_first(const struct usdt_note *n, void *arg)
{
	(void)n;
	(void)arg;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file f;
	struct walk w = { &f, 0 };
	int rc, count;

	rc = elf_open(&f, memfile(data, size));
	FUZZ_ASSERT(rc == 0 || rc == -ENOEXEC);
	if (rc)
		return 0;
	count = usdt_notes(&f, on_note, &w);
	FUZZ_ASSERT(count == -ENOEXEC || count == w.seen);
	if (count > 0)
		FUZZ_ASSERT(usdt_notes(&f, stop_first, NULL) == 1);
	FUZZ_ASSERT(usdt_notes(&f, NULL, NULL) == count);
	elf_close(&f);
	return 0;
}
