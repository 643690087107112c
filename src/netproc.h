/* A process's TCP sockets as /proc shows them: /proc/PID/net/tcp and
 * tcp6 (the process's network namespace) matched by inode to the
 * socket links in /proc/PID/fd. */
#ifndef CKBTRACE_NETPROC_H
#define CKBTRACE_NETPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TCPS_ESTABLISHED 1
#define TCPS_LISTEN 10

struct tcp_entry {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t laddr[16], raddr[16];	/* IPv4: the first 4 bytes */
	uint16_t lport, rport;
	int state;			/* TCP_* of the kernel */
	uint64_t inode;
	int fd;				/* in the process, -1: not its own */
};

/* Parse one line of /proc/net/tcp (family AF_INET) or tcp6 (AF_INET6).
 * 0, or -EINVAL for the header line or anything else. */
int tcp_line_parse(const char *line, int family, struct tcp_entry *e);

/* The TCP sockets process pid holds: every line of its tcp and tcp6
 * tables whose inode is the target of one of its fds.  *out is
 * malloc'd (free it), *n its length.  0, or -errno (-ESRCH: no such
 * process, -EACCES). */
int tcp_sockets_of(pid_t pid, struct tcp_entry **out, int *n);

/* "192.0.2.1:8115" or "[2001:db8::1]:8115" of family and a 16-byte
 * address; buf of at least 56 bytes. */
void addr_port_str(char *buf, size_t len, int family, const uint8_t *addr,
		   uint16_t port);

/* The address alone: "192.0.2.1", "2001:db8::1". */
void addr_str(char *buf, size_t len, int family, const uint8_t *addr);

#endif
