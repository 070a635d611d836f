/* harness/journal.c */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* ---- the lock ---------------------------------------------------------------------------------------- */

/* The pid written into the lock file by its holder (for when F_GETLK cannot say, e.g. it just let go). */
static long pid_in_file(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return strtol(buf, NULL, 10);
}

pecs_status pecs_out_lock_take(pecs_out_lock *l, const char *out, char *why, size_t why_len)
{
    struct stat st;
    l->fd = -1;
    int w = snprintf(l->path, sizeof l->path, "%s.lock", out);
    if (w < 0 || (size_t)w >= sizeof l->path) {
        snprintf(why, why_len, "the results path %.200s... is too long", out);
        return PECS_IO;
    }
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "cannot write the results %s: it is a directory", out);
        return PECS_IO;
    }
    /* A run that finishes removes its lock file: the file locked here must still be the one at the path,
     * or a third run could lock a new file while this one holds the removed one. */
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(why, why_len, "cannot write the results %s: cannot create %s: %s", out, l->path, strerror(errno));
            return PECS_IO;
        }
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (fcntl(fd, F_SETLK, &fl) != 0) {
            int err = errno;
            struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
            long pid = fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (long)q.l_pid : pid_in_file(fd);
            close(fd);
            if (err == EACCES || err == EAGAIN) {
                char who[48] = "";
                if (pid > 0)
                    snprintf(who, sizeof who, " (pid %ld)", pid);
                snprintf(why, why_len, "another pecs run%s is writing %s (it holds %s); wait for it to finish, or give "
                         "another --out", who, out, l->path);
            } else {
                snprintf(why, why_len, "cannot lock %s: %s", l->path, strerror(err));
            }
            return PECS_IO;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
                /* the pid is a courtesy for people; the lock is what counts */
            }
            l->fd = fd;
            return PECS_OK;
        }
        close(fd);
    }
    snprintf(why, why_len, "cannot lock %s: it keeps being removed and created again", l->path);
    return PECS_IO;
}

void pecs_out_lock_release(pecs_out_lock *l)
{
    if (l->fd < 0)
        return;
    unlink(l->path); /* while still locked: a run waiting on this file then sees it replaced */
    close(l->fd);
    l->fd = -1;
}
