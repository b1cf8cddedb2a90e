/* Device I/O off the vCPU threads: the console writer, and the I/O thread's poll loop
 * (console input, stop/kill requests, fds watched for device models). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/vm/vmm-internal.h"

#define OUTQ_DEFAULT_CAP (256u << 10)
#define WRITE_CHUNK 4096
#define WRITE_DELAY_NS (2 * 1000 * 1000)

enum { CTL_QUIT = 'Q', CTL_STOP = 'S', CTL_KILL = 'K', CTL_ROOM = 'R' };

int nk_vm_io_init(struct nk_vm *vm, struct nk_err *err)
{
	struct nk_vm_outq *q = &vm->out;
	if (pipe2(vm->ctl, O_CLOEXEC | O_NONBLOCK) < 0)
		return nk_err_set(err, errno, "creating the VM's control pipe");
	q->fd = vm->console_out;
	q->vm = vm;
	q->cap = vm->console_out_cap ? vm->console_out_cap : OUTQ_DEFAULT_CAP;
	int r = pthread_mutex_init(&q->lock, NULL);
	if (r)
		return nk_err_set(err, r, "console buffer lock");
	r = pthread_cond_init(&q->cond, NULL);
	if (r) {
		pthread_mutex_destroy(&q->lock);
		return nk_err_set(err, r, "console buffer condition");
	}
	/* Allocated last: nk_vm_io_free takes a buffer to mean the lock exists. */
	q->buf = malloc(q->cap);
	if (!q->buf) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		return nk_err_set(err, ENOMEM, "allocating the console buffer");
	}
	return 0;
}

void nk_vm_io_free(struct nk_vm *vm)
{
	struct nk_vm_outq *q = &vm->out;
	if (q->buf) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		free(q->buf);
		q->buf = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (vm->ctl[i] >= 0)
			close(vm->ctl[i]);
		vm->ctl[i] = -1;
	}
}

/* Serial THR writes land here, on a vCPU thread with the UART locked: never block. */
void nk_vm_console_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct nk_vm *vm = opaque;
	struct nk_vm_outq *q = &vm->out;
	if (len)
		nk_vm_boot_mark(vm, NK_VM_MARK_FIRST_OUTPUT);
	if (q->fd < 0 || !q->buf)
		return;
	pthread_mutex_lock(&q->lock);
	size_t room = q->cap - q->len;
	size_t n = len < room ? len : room;
	for (size_t i = 0; i < n; i++)
		q->buf[(q->head + q->len + i) % q->cap] = buf[i];
	q->len += n;
	q->dropped += len - n;
	/* Wake the writer when output starts, and again when a chunk is ready. */
	if (n && (q->len == n || (q->len >= WRITE_CHUNK && q->len - n < WRITE_CHUNK)))
		pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void nk_vm_console_rx_room(void *opaque)
{
	struct nk_vm *vm = opaque;
	char c = CTL_ROOM;
	(void)!write(vm->ctl[1], &c, 1);
}

int nk_vm_thread_enter(struct nk_vm *vm, const char *thread)
{
	/* Process signals belong to the embedding program's main thread, not to us; but a
	 * fault (SIGSEGV, SIGSYS from a seccomp filter, ...) must reach its handler here: the
	 * kernel kills the whole process when a forced signal is blocked. SIGPIPE stays
	 * blocked: a closed console is an EPIPE. */
	static const int synchronous[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGTRAP};
	sigset_t set;
	sigfillset(&set);
	sigdelset(&set, nk_vm_kick_signal());
	for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
		sigdelset(&set, synchronous[i]);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	if (!vm->thread_enter)
		return 0;
	struct nk_err err = {0};
	if (vm->thread_enter(vm->thread_opaque, thread, &err) == 0)
		return 0;
	nk_vm_end(vm, NK_VM_EXIT_ERROR, -1, 0, 0, "setting up the VM's %s thread: %s", thread, err.msg);
	return -1;
}

static void *writer_main(void *arg)
{
	struct nk_vm_outq *q = arg;
	uint8_t chunk[WRITE_CHUNK];
	if (nk_vm_thread_enter(q->vm, "console") < 0) {
		/* Nothing will be written: let the vCPUs' output be dropped, not queued. */
		pthread_mutex_lock(&q->lock);
		q->failed = 1;
		pthread_mutex_unlock(&q->lock);
		return NULL;
	}
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->len && !q->closing)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->len || atomic_load(&q->abandon))
			break;
		/* Let a line build up before writing it: a byte per wake-up would cost the
		 * vCPUs (a futex wake per byte) and the host CPU that both threads share. */
		if (q->len < WRITE_CHUNK && !q->closing) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += WRITE_DELAY_NS;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			while (q->len < WRITE_CHUNK && !q->closing &&
			       pthread_cond_timedwait(&q->cond, &q->lock, &until) == 0)
				;
		}
		size_t n = q->cap - q->head;
		if (n > q->len)
			n = q->len;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		memcpy(chunk, q->buf + q->head, n);
		q->head = (q->head + n) % q->cap;
		q->len -= n;
		int failed = q->failed;
		pthread_mutex_unlock(&q->lock);
		size_t done = 0;
		while (!failed && done < n) {
			ssize_t w = write(q->fd, chunk + done, n - done);
			if (w > 0) {
				done += (size_t)w;
			} else if (w < 0 && errno == EINTR) {
				if (atomic_load(&q->abandon))
					failed = 1;
			} else if (w < 0 && errno == EAGAIN) {
				struct pollfd p = {.fd = q->fd, .events = POLLOUT};
				(void)poll(&p, 1, 100);
				if (atomic_load(&q->abandon))
					failed = 1;
			} else {
				failed = 1;
			}
		}
		pthread_mutex_lock(&q->lock);
		if (failed)
			q->failed = 1;
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void ctl_commands(struct nk_vm *vm, int *quit)
{
	char cmds[64];
	ssize_t n;
	while ((n = read(vm->ctl[0], cmds, sizeof(cmds))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			switch (cmds[i]) {
			case CTL_QUIT:
				*quit = 1;
				break;
			case CTL_STOP:
				nk_i8042_ctrl_alt_del(vm->kbd);
				break;
			case CTL_KILL:
				nk_vm_end(vm, NK_VM_EXIT_KILLED, -1, 0, 0, "killed by the host");
				break;
			default: /* CTL_ROOM: the next poll set includes the console again */
				break;
			}
		}
	}
}

static void console_input(struct nk_vm *vm)
{
	uint8_t buf[NK_SERIAL_RX_CAP];
	size_t room = nk_serial_rx_room(vm->serial);
	if (room == 0)
		return;
	ssize_t n = read(vm->console_in, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or EIO from a PTY whose other side went away: no more input. */
		vm->input_eof = 1;
		return;
	}
	/* Only this thread feeds the UART, but a guest in loopback mode can steal room;
	 * what no longer fits is dropped, as a real UART would overrun. */
	(void)nk_serial_rx_push(vm->serial, buf, (size_t)n);
}

static void *io_main(void *arg)
{
	struct nk_vm *vm = arg;
	if (nk_vm_thread_enter(vm, "io") < 0)
		return NULL;
	for (int quit = 0; !quit;) {
		struct pollfd pfd[2 + NK_VM_MAX_WATCHES];
		size_t n = 0, console = SIZE_MAX;
		pfd[n++] = (struct pollfd){.fd = vm->ctl[0], .events = POLLIN};
		if (vm->console_in >= 0 && !vm->input_eof && nk_serial_rx_room(vm->serial) > 0) {
			console = n;
			pfd[n++] = (struct pollfd){.fd = vm->console_in, .events = POLLIN};
		}
		size_t first_watch = n;
		struct nk_vm_watch *w[NK_VM_MAX_WATCHES];
		for (size_t i = 0; i < vm->nwatches; i++) {
			if (!atomic_load(&vm->watches[i].enabled))
				continue;
			w[n - first_watch] = &vm->watches[i];
			pfd[n++] = (struct pollfd){.fd = vm->watches[i].fd, .events = POLLIN};
		}
		int r = poll(pfd, n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			nk_vm_end(vm, NK_VM_EXIT_ERROR, -1, 0, 0, "the VM's I/O loop failed: %s",
				  strerror(errno));
			break;
		}
		if (pfd[0].revents)
			ctl_commands(vm, &quit);
		if (console != SIZE_MAX && pfd[console].revents)
			console_input(vm);
		for (size_t i = first_watch; i < n; i++)
			if (pfd[i].revents)
				w[i - first_watch]->cb(w[i - first_watch]->opaque, pfd[i].fd);
	}
	return NULL;
}

int nk_vm_io_start(struct nk_vm *vm, struct nk_err *err)
{
	struct nk_vm_outq *q = &vm->out;
	int r;
	if (q->fd >= 0) {
		r = pthread_create(&q->thread, NULL, writer_main, q);
		if (r)
			return nk_err_set(err, r, "starting the console writer");
		q->started = 1;
	}
	r = pthread_create(&vm->io_thread, NULL, io_main, vm);
	if (r)
		return nk_err_set(err, r, "starting the VM's I/O thread");
	vm->io_started = 1;
	return 0;
}

void nk_vm_io_stop(struct nk_vm *vm)
{
	if (vm->io_started) {
		char c = CTL_QUIT;
		while (write(vm->ctl[1], &c, 1) < 0 && errno == EAGAIN) {
			/* The pipe is full of requests nobody will act on now: drain it. */
			char junk[256];
			(void)!read(vm->ctl[0], junk, sizeof(junk));
		}
		pthread_join(vm->io_thread, NULL);
		vm->io_started = 0;
	}
	struct nk_vm_outq *q = &vm->out;
	if (!q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->closing = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	/* Let queued output reach the console, but not forever: a terminal nobody reads
	 * must not keep the VM from going away. */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	if (pthread_timedjoin_np(q->thread, NULL, &deadline) != 0) {
		atomic_store(&q->abandon, 1);
		for (;;) {
			pthread_kill(q->thread, nk_vm_kick_signal());
			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_nsec += 100 * 1000 * 1000;
			if (deadline.tv_nsec >= 1000000000) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(q->thread, NULL, &deadline) == 0)
				break;
		}
	}
	q->started = 0;
}

int nk_vm_watch_fd(struct nk_vm *vm, int fd, void (*cb)(void *opaque, int fd), void *opaque,
		   struct nk_err *err)
{
	if (atomic_load(&vm->running))
		return nk_err_msg(err, EBUSY, "fds must be watched before the VM runs");
	if (fd < 0 || !cb)
		return nk_err_msg(err, EINVAL, "watch: bad fd or callback");
	if (vm->nwatches >= NK_VM_MAX_WATCHES)
		return nk_err_msg(err, ENOSPC, "the VM already watches %d fds", NK_VM_MAX_WATCHES);
	struct nk_vm_watch *w = &vm->watches[vm->nwatches++];
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	atomic_store(&w->enabled, 1);
	return 0;
}

void nk_vm_unwatch_fd(struct nk_vm *vm, int fd)
{
	for (size_t i = 0; i < vm->nwatches; i++) {
		if (vm->watches[i].fd != fd)
			continue;
		vm->nwatches--;
		for (size_t k = i; k < vm->nwatches; k++) {
			struct nk_vm_watch *a = &vm->watches[k], *b = &vm->watches[k + 1];
			a->fd = b->fd;
			a->cb = b->cb;
			a->opaque = b->opaque;
			atomic_store(&a->enabled, atomic_load(&b->enabled));
		}
		return;
	}
}

void nk_vm_watch_enable(struct nk_vm *vm, int fd, int on)
{
	/* The set of watches is fixed once the VM runs, so this scan races with nothing. */
	for (size_t i = 0; i < vm->nwatches; i++)
		if (vm->watches[i].fd == fd)
			atomic_store(&vm->watches[i].enabled, on ? 1 : 0);
	char c = CTL_ROOM; /* any byte wakes the loop to rebuild its poll set */
	(void)!write(vm->ctl[1], &c, 1);
}

uint64_t nk_vm_console_dropped(struct nk_vm *vm)
{
	struct nk_vm_outq *q = &vm->out;
	if (!q->buf)
		return 0;
	pthread_mutex_lock(&q->lock);
	uint64_t n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}
