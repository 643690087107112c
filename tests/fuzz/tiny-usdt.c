/* A tiny static ELF with USDT probes and no libc, the fuzz harnesses'
 * own valid input.  Rebuild it, then copy it to regress/elfsym and regress/usdt-notes:
 *   gcc -O2 -static -nostdlib -fno-asynchronous-unwind-tables \
 *       -Wl,--build-id -Wl,-z,norelro -Wl,-z,noseparate-code \
 *       -o tiny-usdt tiny-usdt.c */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

volatile unsigned short tiny_tick_semaphore __attribute__((section(".probes")));
volatile unsigned short tiny_done_semaphore __attribute__((section(".probes")));
long counter;

static long sys_exit(long code)
{
	long rc;

	__asm__ volatile("syscall" : "=a"(rc) : "a"(60), "D"(code) : "rcx", "r11", "memory");
	return rc;
}

void _start(void)
{
	long i;
	int small = 3;

	for (i = 0; i < 4; i++) {
		counter += i;
		if (tiny_tick_semaphore)
			STAP_PROBE3(tiny, tick, i, counter, small);
	}
	STAP_PROBE(tiny, done);
	sys_exit(0);
}
