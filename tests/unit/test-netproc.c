/* /proc/net/tcp{,6} lines, and a process's own sockets found by inode. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netproc.h"
#include "tap.h"

static void line_v4(void)
{
	struct tcp_entry e;
	char buf[64];

	ok(tcp_line_parse("  sl  local_address rem_address   st tx_queue "
			  "rx_queue tr tm->when retrnsmt   uid  timeout inode",
			  AF_INET, &e) != 0, "the header line is refused");
	ok(tcp_line_parse("   3: 0100007F:1FA3 0200A8C0:0050 01 00000000:00000000"
			  " 00:00000000 00000000  1000        0 12345 1 "
			  "0000000000000000 20 4 30 10 -1", AF_INET, &e) == 0,
	   "an IPv4 line parses");
	addr_port_str(buf, sizeof(buf), e.family, e.laddr, e.lport);
	ok(strcmp(buf, "127.0.0.1:8099") == 0, "local 127.0.0.1:8099 (%s)",
	   buf);
	addr_port_str(buf, sizeof(buf), e.family, e.raddr, e.rport);
	ok(strcmp(buf, "192.168.0.2:80") == 0, "remote 192.168.0.2:80 (%s)",
	   buf);
	ok(e.state == TCPS_ESTABLISHED && e.inode == 12345,
	   "state 1, inode 12345 (%d, %llu)", e.state,
	   (unsigned long long)e.inode);
	ok(tcp_line_parse("   3: 0100007F:1FA3 0200A8C0 01", AF_INET, &e) != 0,
	   "a cut line is refused");
	ok(tcp_line_parse("   3: 0100007F:1FA3 0200A8C0:0050 01 00000000:00000000"
			  " 00:00000000 00000000  1000        0 12345 1",
			  AF_INET6, &e) != 0, "an IPv4 line is not IPv6");
}

static void line_v6(void)
{
	struct tcp_entry e;
	char buf[80];

	ok(tcp_line_parse("   0: 00000000000000000000000001000000:1FA3 "
			  "0000000000000000FFFF00000100007F:D431 0A "
			  "00000000:00000000 00:00000000 00000000     0        "
			  "0 999 1 0000000000000000 100 0 0 10 0", AF_INET6,
			  &e) == 0, "an IPv6 line parses");
	addr_port_str(buf, sizeof(buf), e.family, e.laddr, e.lport);
	ok(strcmp(buf, "[::1]:8099") == 0, "local [::1]:8099 (%s)", buf);
	addr_port_str(buf, sizeof(buf), e.family, e.raddr, e.rport);
	ok(strcmp(buf, "[::ffff:127.0.0.1]:54321") == 0,
	   "remote v4-mapped (%s)", buf);
	ok(e.state == TCPS_LISTEN && e.inode == 999, "listen, inode 999");
}

/* This process: a listener and a connection to it, found with their
 * fds and ports. */
static void own_sockets(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct tcp_entry *v = NULL;
	int lfd, cfd, afd, n = 0, i, found = 0;
	uint16_t lport, cport;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ok(lfd >= 0 && bind(lfd, (void *)&a, sizeof(a)) == 0 &&
	   listen(lfd, 4) == 0 && getsockname(lfd, (void *)&a, &len) == 0,
	   "a listener on 127.0.0.1");
	lport = ntohs(a.sin_port);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ok(connect(cfd, (void *)&a, sizeof(a)) == 0, "connected to it");
	afd = accept(lfd, NULL, NULL);
	len = sizeof(a);
	getsockname(cfd, (void *)&a, &len);
	cport = ntohs(a.sin_port);
	i = tcp_sockets_of(getpid(), &v, &n);
	ok(i == 0 && n == 3, "three TCP sockets of this process (%d)", n);
	for (i = 0; i < n; i++) {
		if (v[i].state == TCPS_LISTEN && v[i].lport == lport &&
		    v[i].fd == lfd)
			found |= 1;
		if (v[i].state == TCPS_ESTABLISHED && v[i].lport == cport &&
		    v[i].rport == lport && v[i].fd == cfd)
			found |= 2;
		if (v[i].state == TCPS_ESTABLISHED && v[i].lport == lport &&
		    v[i].rport == cport && v[i].fd == afd)
			found |= 4;
	}
	ok(found == 7, "listener, client and accepted side by fd (%d)",
	   found);
	free(v);
	close(afd);
	close(cfd);
	close(lfd);
	ok(tcp_sockets_of(0x3ffffff0, &v, &n) < 0, "no such process");
}

int main(void)
{
	line_v4();
	line_v6();
	own_sockets();
	return done_testing();
}
