/* src/unwind.c through its API, on this process's own stack: a snapshot
 * of the registers and the stack top taken three noinline frames deep
 * (built without frame pointers), unwound from the copy, each frame named
 * by the symbolizer; and every way a walk can end short. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbolize.h"
#include "tap.h"
#include "unwind.h"

static uint64_t regs[UNWIND_NREGS];
static uint8_t copy[16384];
static size_t copy_len;

/* The live stack, bytes between and around locals included (ASan's
 * redzones in a --enable-sanitizers build): copied byte by byte, out of
 * ASan's sight, as the kernel would hand it to a BPF program. */
static __attribute__((noinline, no_sanitize_address)) void
copy_stack(uint8_t *dst, uintptr_t src, size_t n)
{
	const volatile uint8_t *s = (const volatile uint8_t *)src;

	while (n--)
		*dst++ = *s++;
}

/* rbx rbp rsp r12..r15 and the rip of label 0, as they are at 0 */
static __attribute__((noinline, optimize("omit-frame-pointer"))) void take(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	uintptr_t top;

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
	copy_len = top - regs[UNWIND_REG_RSP];
	if (copy_len > sizeof(copy))
		copy_len = sizeof(copy);
	copy_stack(copy, (uintptr_t)regs[UNWIND_REG_RSP], copy_len);
	pthread_attr_destroy(&a);
}

#define KEEP() __asm__ volatile("" ::: "memory")
static __attribute__((noinline, optimize("omit-frame-pointer"))) void three(void) { take(); KEEP(); }
static __attribute__((noinline, optimize("omit-frame-pointer"))) void two(void) { three(); KEEP(); }
static __attribute__((noinline, optimize("omit-frame-pointer"))) void one(void) { two(); KEEP(); }

static void *thread_main(void *arg)
{
	one();
	return arg;
}

/* The function name of frame i, without "+0x.. (module)". */
static const char *fn(struct symbolizer *s, const struct unwind_frame *f)
{
	static char line[8][256];
	static int k;
	char *l = line[k++ % 8], *p;

	symbolize_frame(s, getpid(), f->pc, f->ret_addr, l, 1, 256);
	p = strpbrk(l, "+ ");
	if (p)
		*p = '\0';
	return l;
}

int main(void)
{
	struct unwinder *u = unwinder_new(2);
	struct symbolizer *s = symbolizer_new();
	struct unwind_frame f[64];
	struct unwind_elf_info info;
	struct unwind_stats st;
	enum unwind_end end;
	uint64_t r2[UNWIND_NREGS];
	pthread_t t;
	void *anon;
	int n, i, seen;

	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
	ok(u && s && copy_len > 256, "a snapshot of %zu stack bytes", copy_len);

	ok(unwind_prepare(u, getpid()) == 0, "unwind_prepare on this process");
	n = unwind_stack(u, getpid(), getpid(), regs, copy, copy_len, 0, f, 64,
			 &end);
	ok(n >= 5, "%d frames", n);
	ok(end == UNWIND_OK, "the walk ends at the thread's first frame (%s)",
	   unwind_end_name(end));
	ok(n >= 4 && f[0].pc == regs[UNWIND_REG_RIP] && !f[0].ret_addr &&
	   f[1].ret_addr, "frame 0 is rip itself, the next a return address");
	ok(n >= 4 && strcmp(fn(s, &f[0]), "take") == 0 &&
	   strcmp(fn(s, &f[1]), "three") == 0 &&
	   strcmp(fn(s, &f[2]), "two") == 0 &&
	   strcmp(fn(s, &f[3]), "one") == 0,
	   "take, three, two, one (%s %s %s %s)", fn(s, &f[0]), fn(s, &f[1]),
	   fn(s, &f[2]), fn(s, &f[3]));
	for (i = 4, seen = 0; i < n; i++)
		seen |= strcmp(fn(s, &f[i]), "thread_main") == 0;
	ok(seen, "then thread_main");

	n = unwind_stack(u, getpid(), getpid(), regs, copy, 64, 0, f, 64, &end);
	ok(end == UNWIND_TRUNCATED && n >= 1 && n < 5,
	   "64 bytes copied: truncated after %d frames (%s)", n,
	   unwind_end_name(end));

	n = unwind_stack(u, getpid(), getpid(), regs, copy, copy_len, 0, f, 2,
			 &end);
	ok(n == 2 && end == UNWIND_DEPTH, "room for 2 frames: 2, depth");

	memcpy(r2, regs, sizeof(r2));
	r2[UNWIND_REG_RIP] = 0x1000;
	n = unwind_stack(u, getpid(), getpid(), r2, copy, copy_len, 0, f, 64,
			 &end);
	ok(n == 1 && end == UNWIND_UNMAPPED && f[0].pc == 0x1000,
	   "rip in no mapping: one frame, unmapped (%s)", unwind_end_name(end));

	anon = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r2[UNWIND_REG_RIP] = (uint64_t)(uintptr_t)anon + 16;
	n = unwind_stack(u, getpid(), getpid(), r2, copy, copy_len, 0, f, 64,
			 &end);
	ok(anon != MAP_FAILED && n == 1 && end == UNWIND_ANON,
	   "rip in anonymous executable memory: anon (%s)",
	   unwind_end_name(end));
	ok(symbolize_where(s, getpid(), r2[UNWIND_REG_RIP]) == SYM_ANON &&
	   symbolize_where(s, getpid(), 0x1000) == SYM_UNMAPPED &&
	   symbolize_where(s, getpid(), regs[UNWIND_REG_RIP]) == SYM_FILE,
	   "symbolize_where tells file, anonymous and unmapped apart");

	n = unwind_stack(u, 0x3ffffff0, 0x3ffffff0, regs, copy, copy_len, 0, f,
			 64, &end);
	ok(n == 1 && end == UNWIND_GONE, "a process that is not there: gone");
	ok(unwind_stack(u, getpid(), getpid(), regs, copy, copy_len, 0, f, 0,
			&end) == -EINVAL, "max 0: -EINVAL");

	unwind_get_stats(u, &st);
	ok(st.stacks == 6 && st.ends[UNWIND_OK] == 1 &&
	   st.ends[UNWIND_TRUNCATED] == 1 && st.ends[UNWIND_DEPTH] == 1 &&
	   st.ends[UNWIND_UNMAPPED] == 1 && st.ends[UNWIND_ANON] == 1 &&
	   st.ends[UNWIND_GONE] == 1, "the counters follow (%llu stacks)",
	   (unsigned long long)st.stacks);
	unwind_forget(u, getpid());
	n = unwind_stack(u, getpid(), getpid(), regs, copy, copy_len, 0, f, 64,
			 &end);
	unwind_get_stats(u, &st);
	ok(end == UNWIND_OK && st.procs_loaded == 2,
	   "after unwind_forget the process is read again (%llu loaded, %s)",
	   (unsigned long long)st.procs_loaded, unwind_end_name(end));

	n = unwind_elf_info("/proc/self/exe", &info);
	ok(n == 0 && info.has_eh_frame && info.checked > 0,
	   "unwind_elf_info: .eh_frame, %d of %d functions with a frame "
	   "pointer", info.with_fp, info.checked);
	ok(unwind_elf_info("/nonexistent", &info) < 0,
	   "unwind_elf_info on a missing file fails");
	ok(strcmp(unwind_end_name(UNWIND_NO_CFI), "no_cfi") == 0 &&
	   strcmp(unwind_end_name(UNWIND_NEND), "?") == 0, "end names");

	{
		char d[256];

		demangle_name("_RNvMNtCs9ltgdHTiPiY_4core3fmtNtB2_9Formatter3pad",
			      d, sizeof(d));
		ok(strcmp(d, "<core::fmt::Formatter>::pad") == 0,
		   "Rust v0 demangled: %s", d);
		demangle_name("_ZN4core3fmt5write17h0123456789abcdefE", d,
			      sizeof(d));
		ok(strcmp(d, "core::fmt::write") == 0,
		   "legacy Rust demangled, hash dropped: %s", d);
		demangle_name("_ZN7rocksdb6DBImpl7GetImplERKNS_11ReadOptionsE",
			      d, sizeof(d));
		ok(strcmp(d, "rocksdb::DBImpl::GetImpl(rocksdb::ReadOptions "
			  "const&)") == 0, "C++ demangled: %s", d);
		demangle_name("_Rnot_rust", d, sizeof(d));
		ok(strcmp(d, "_Rnot_rust") == 0, "a C name kept: %s", d);
	}
	munmap(anon, 4096);
	unwinder_free(u);
	symbolizer_free(s);
	return done_testing();
}
