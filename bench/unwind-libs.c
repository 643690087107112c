/* Which library unwinds a copied user stack faster: elfutils' libdwfl (as
 * src/unwind.c drives it) or libunwind's remote API with our own
 * accessors (the way perf used it)?  One snapshot of this program's own
 * registers and stack top, taken 12 frames deep in -fomit-frame-pointer
 * code, unwound N times by each; both read the CFI of the same mapped
 * files and the same copy.  Prints one JSON line per library.
 *
 * Usage: unwind-libs [N [dw|lu]]   (bench/parts/unwind.sh builds and
 * runs it; with dw or lu, only that library, for its own peak RSS) */
#define _GNU_SOURCE
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "unwind.h"

#define COPY 8192
#define MAXF 64

static uint64_t regs[UNWIND_NREGS];
static uint8_t stack_copy[COPY];
static size_t stack_len;

/* ---- the snapshot ---- */

static __attribute__((noinline)) void take(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	uintptr_t top;

	/* rbx rbp rsp r12..r15 and the rip of label 0, as they are at 0 */
	__asm__ volatile(
		"mov %%rbx, 24(%%rax)\n\t"
		"mov %%rbp, 48(%%rax)\n\t"
		"mov %%rsp, 56(%%rax)\n\t"
		"mov %%r12, 96(%%rax)\n\t"
		"mov %%r13, 104(%%rax)\n\t"
		"mov %%r14, 112(%%rax)\n\t"
		"mov %%r15, 120(%%rax)\n\t"
		"lea 0f(%%rip), %%rcx\n\t"
		"mov %%rcx, 128(%%rax)\n"
		"0:\n"
		: : "a"(regs) : "rcx", "memory");
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &lo, &size);
	top = (uintptr_t)lo + size;
	stack_len = top - regs[UNWIND_REG_RSP] < COPY ?
		    top - regs[UNWIND_REG_RSP] : COPY;
	memcpy(stack_copy, (void *)(uintptr_t)regs[UNWIND_REG_RSP], stack_len);
	pthread_attr_destroy(&a);
}

#define LEVEL(n, next)							\
	static __attribute__((noinline)) void f##n(volatile int *x)	\
	{								\
		volatile char pad[40 + 8 * n];				\
		pad[0] = (char)*x;					\
		next(x);						\
		*x += pad[0];						\
	}
static __attribute__((noinline)) void f0(volatile int *x)
{
	take();
	(*x)++;
}
LEVEL(1, f0) LEVEL(2, f1) LEVEL(3, f2) LEVEL(4, f3) LEVEL(5, f4)
LEVEL(6, f5) LEVEL(7, f6) LEVEL(8, f7) LEVEL(9, f8) LEVEL(10, f9)

static void *thread_main(void *arg)
{
	volatile int x = 0;

	f10(&x);
	return arg;
}

/* ---- libunwind, remote, with our accessors ---- */

struct module {
	uint64_t start, end, hdr;
};
static struct module mods[64];
static int nmods;

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	uint64_t lo = UINT64_MAX, hi = 0, hdr = 0;
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];

		if (p->p_type == PT_LOAD && (p->p_flags & PF_X)) {
			if (info->dlpi_addr + p->p_vaddr < lo)
				lo = info->dlpi_addr + p->p_vaddr;
			if (info->dlpi_addr + p->p_vaddr + p->p_memsz > hi)
				hi = info->dlpi_addr + p->p_vaddr + p->p_memsz;
		}
		if (p->p_type == PT_GNU_EH_FRAME)
			hdr = info->dlpi_addr + p->p_vaddr;
	}
	if (hdr && hi && nmods < 64)
		mods[nmods++] = (struct module){ lo, hi, hdr };
	return 0;
}

int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
				       unw_dyn_info_t *di,
				       unw_proc_info_t *pi,
				       int need_unwind_info, void *arg);

static int lu_find_proc_info(unw_addr_space_t as, unw_word_t ip,
			     unw_proc_info_t *pi, int need, void *arg)
{
	unw_dyn_info_t di;
	int i;

	for (i = 0; i < nmods; i++) {
		const uint8_t *h = (const uint8_t *)(uintptr_t)mods[i].hdr;
		uint32_t count;

		if (ip < mods[i].start || ip >= mods[i].end)
			continue;
		/* version 1, pcrel|sdata4 eh_frame_ptr, udata4 count,
		 * datarel|sdata4 table: what every linker here writes */
		if (h[0] != 1 || h[1] != 0x1b || h[2] != 0x03 || h[3] != 0x3b)
			return -UNW_ENOINFO;
		memcpy(&count, h + 8, 4);
		memset(&di, 0, sizeof(di));
		di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
		di.start_ip = mods[i].start;
		di.end_ip = mods[i].end;
		di.u.rti.segbase = mods[i].hdr;
		di.u.rti.table_data = mods[i].hdr + 12;
		di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
		return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need,
							  arg);
	}
	return -UNW_ENOINFO;
}

static void lu_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
			       void *arg)
{
}

static int lu_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *a,
				     void *arg)
{
	return -UNW_ENOINFO;
}

/* the stack from the copy; the CFI tables from the mapped files (this
 * process maps them, as a tracer maps the target's) */
static int lu_access_mem(unw_addr_space_t as, unw_word_t addr,
			 unw_word_t *val, int write, void *arg)
{
	uint64_t sp = regs[UNWIND_REG_RSP];
	int i;

	if (write)
		return -UNW_EINVAL;
	if (addr >= sp && addr + 8 <= sp + stack_len) {
		memcpy(val, stack_copy + (addr - sp), 8);
		return 0;
	}
	for (i = 0; i < nmods; i++)
		if (addr >= mods[i].start - 0x400000 && addr < mods[i].end + 0x400000) {
			memcpy(val, (void *)(uintptr_t)addr, 8);
			return 0;
		}
	return -UNW_EINVAL;
}

static int lu_access_reg(unw_addr_space_t as, unw_regnum_t reg,
			 unw_word_t *val, int write, void *arg)
{
	if (write || reg < 0 || reg >= UNWIND_NREGS)
		return -UNW_EBADREG;
	*val = regs[reg];
	return 0;
}

static int lu_access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			   unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EINVAL;
}

static int lu_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static int lu_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			    size_t len, unw_word_t *off, void *arg)
{
	return -UNW_EINVAL;
}

static unw_accessors_t lu_accessors = {
	.find_proc_info = lu_find_proc_info,
	.put_unwind_info = lu_put_unwind_info,
	.get_dyn_info_list_addr = lu_get_dyn_info_list_addr,
	.access_mem = lu_access_mem,
	.access_reg = lu_access_reg,
	.access_fpreg = lu_access_fpreg,
	.resume = lu_resume,
	.get_proc_name = lu_get_proc_name,
};

static int lu_unwind(unw_addr_space_t as, uint64_t *pcs)
{
	unw_cursor_t c;
	unw_word_t ip;
	int n = 0;

	if (unw_init_remote(&c, as, NULL) < 0)
		return 0;
	do {
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || !ip)
			break;
		pcs[n++] = ip;
	} while (n < MAXF && unw_step(&c) > 0);
	return n;
}

/* ---- the race ---- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, i;
	const char *only = argc > 2 ? argv[2] : "";
	struct unwind_frame uf[MAXF];
	uint64_t lpcs[MAXF];
	enum unwind_end end;
	pthread_t t;
	unw_addr_space_t as;
	struct unwinder *u;
	double c0, w0;
	int nd = 0, nl = 0, same = 1;

	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
	dl_iterate_phdr(add_module, NULL);

	if (strcmp(only, "lu") == 0)
		goto lu;
	u = unwinder_new(0);
	nd = unwind_stack(u, getpid(), getpid(), regs, stack_copy, stack_len,
			  0, uf, MAXF, &end);
	c0 = cpu_s();
	w0 = now_s();
	for (i = 0; i < n; i++)
		nd = unwind_stack(u, getpid(), getpid(), regs, stack_copy,
				  stack_len, 0, uf, MAXF, &end);
	printf("{\"lib\":\"libdw\",\"stacks\":%ld,\"frames\":%d,\"end\":\"%s\","
	       "\"ns_per_stack\":%.0f,\"cpu_ns_per_stack\":%.0f,"
	       "\"maxrss_kb\":%ld}\n", n, nd, unwind_end_name(end),
	       (now_s() - w0) / (double)n * 1e9,
	       (cpu_s() - c0) / (double)n * 1e9, rss_kb());
	unwinder_free(u);
	if (strcmp(only, "dw") == 0)
		return 0;
lu:
	as = unw_create_addr_space(&lu_accessors, 0);
	unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	nl = lu_unwind(as, lpcs);
	c0 = cpu_s();
	w0 = now_s();
	for (i = 0; i < n; i++)
		nl = lu_unwind(as, lpcs);
	printf("{\"lib\":\"libunwind\",\"stacks\":%ld,\"frames\":%d,"
	       "\"ns_per_stack\":%.0f,\"cpu_ns_per_stack\":%.0f,"
	       "\"maxrss_kb\":%ld}\n", n, nl,
	       (now_s() - w0) / (double)n * 1e9,
	       (cpu_s() - c0) / (double)n * 1e9, rss_kb());
	for (i = 0; i < nd && i < nl; i++)
		same &= uf[i].pc == lpcs[i];
	if (!*only)
		printf("{\"same_frames\":%s}\n",
		       same && nd == nl ? "true" : "false");
	unw_destroy_addr_space(as);
	return 0;
}
