/*
 * vpcd with card events: an IFD handler that wraps Debian's libifdvpcd and reports a
 * card's insertion or removal within EVENT_POLL_MS, as a CCID reader's interrupt
 * endpoint does (RDR_to_PC_NotifySlotChange, relayed by libccid's IFDHPolling).
 *
 * Why: libifdvpcd has no polling thread of its own, so pcscd asks it whether a card is
 * present every PCSCLITE_STATUS_POLL_RATE (400 ms, compiled into pcsc-lite). A pulled
 * card then reached the kiosk 0-400 ms late, a delay the appliance's CCID reader does
 * not have, and it hid what the kiosk's own wipe costs. With this wrapper pcscd calls
 * IFDHPolling (TAG_IFD_POLLING_THREAD_WITH_TIMEOUT) between two presence checks, and
 * IFDHPolling returns as soon as the slot's state changes, or at pcscd's timeout, or
 * when pcscd asks it to (TAG_IFD_STOP_POLLING_THREAD). pcscd's power management
 * keeps its meaning: an unused powered card is powered off after the grace period
 * pcscd passes as the timeout (PCSCLITE_POWER_OFF_GRACE_PERIOD), as with libccid.
 *
 * The wrapped driver is the file next to this one with ".driver" appended
 * (<this>.so.driver), loaded privately: each reader gets its own copy of both,
 * since vpcd keeps its slots in globals (see pcscd.py).
 *
 * Locking: pcscd serializes its own calls into a slot under the reader's mutex, but
 * calls IFDHPolling without it. The presence checks made here would then race with
 * pcscd's (vpcd's accept() of a card is unlocked), so every call into the wrapped
 * driver takes this slot's lock: pcscd's calls and the polling thread's alike.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <PCSC/ifdhandler.h>

#define EVENT_POLL_MS 20
#define MAX_SLOTS 16

typedef RESPONSECODE (*create_fn)(DWORD, DWORD);
typedef RESPONSECODE (*create_by_name_fn)(DWORD, LPSTR);
typedef RESPONSECODE (*close_fn)(DWORD);
typedef RESPONSECODE (*get_caps_fn)(DWORD, DWORD, PDWORD, PUCHAR);
typedef RESPONSECODE (*set_caps_fn)(DWORD, DWORD, DWORD, PUCHAR);
typedef RESPONSECODE (*set_proto_fn)(DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR);
typedef RESPONSECODE (*power_fn)(DWORD, DWORD, PUCHAR, PDWORD);
typedef RESPONSECODE (*transmit_fn)(DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD,
                                    PSCARD_IO_HEADER);
typedef RESPONSECODE (*control_fn)(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD);
typedef RESPONSECODE (*presence_fn)(DWORD);

static struct {
    create_fn create;
    create_by_name_fn create_by_name;
    close_fn close;
    get_caps_fn get_caps;
    set_caps_fn set_caps;
    set_proto_fn set_proto;
    power_fn power;
    transmit_fn transmit;
    control_fn control;
    presence_fn presence;
} inner;

static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static int load_failed;
static pthread_mutex_t slot_lock[MAX_SLOTS];
static atomic_int stopping[MAX_SLOTS];

/* vpcd logs through pcscd's log_msg. Outside pcscd (the wrapper's tests load it with
 * ctypes, RTLD_GLOBAL) this weak one stands in; inside, pcscd's own comes first. */
__attribute__((weak)) void log_msg(const int priority, const char *fmt, ...) {
    va_list args;
    (void)priority;
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}

static size_t slot_of(DWORD lun) {
    size_t slot = lun & 0xffff;
    return slot < MAX_SLOTS ? slot : MAX_SLOTS - 1;
}

static void load(void) {
    Dl_info self;
    char path[4096];
    void *handle;

    for (int i = 0; i < MAX_SLOTS; i++)
        pthread_mutex_init(&slot_lock[i], NULL);
    if (!dladdr((void *)&load, &self) || !self.dli_fname ||
        snprintf(path, sizeof path, "%s.driver", self.dli_fname) >= (int)sizeof path) {
        syslog(LOG_ERR, "vpcd-events: cannot name the wrapped driver");
        load_failed = 1;
        return;
    }
    /* DEEPBIND: vpcd's calls between its own entry points (IFDHPowerICC ->
     * IFDHGetCapabilities) stay inside it even where this wrapper's same-named symbols
     * are global (its tests), instead of re-entering the wrapper and its lock. */
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!handle) {
        syslog(LOG_ERR, "vpcd-events: %s", dlerror());
        load_failed = 1;
        return;
    }
#define BIND(field, name) \
    if (!(*(void **)&inner.field = dlsym(handle, name))) load_failed = 1
    BIND(create, "IFDHCreateChannel");
    BIND(create_by_name, "IFDHCreateChannelByName");
    BIND(close, "IFDHCloseChannel");
    BIND(get_caps, "IFDHGetCapabilities");
    BIND(set_caps, "IFDHSetCapabilities");
    BIND(set_proto, "IFDHSetProtocolParameters");
    BIND(power, "IFDHPowerICC");
    BIND(transmit, "IFDHTransmitToICC");
    BIND(control, "IFDHControl");
    BIND(presence, "IFDHICCPresence");
#undef BIND
    if (load_failed)
        syslog(LOG_ERR, "vpcd-events: %s lacks an IFD handler entry point", path);
}

#define CALL(lun, expr)                                  \
    do {                                                 \
        RESPONSECODE rc_;                                \
        pthread_once(&loaded, load);                     \
        if (load_failed)                                 \
            return IFD_COMMUNICATION_ERROR;              \
        pthread_mutex_lock(&slot_lock[slot_of(lun)]);    \
        rc_ = (expr);                                    \
        pthread_mutex_unlock(&slot_lock[slot_of(lun)]);  \
        return rc_;                                      \
    } while (0)

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What pcscd's event thread last learnt of each slot's presence (under slot_lock): the
 * polling compares against it, not against a sample of its own, so that a card pulled
 * between pcscd's check and the polling's start is still an event. pcscd's event
 * thread is the one that calls IFDHPolling; until it first does, every check counts. */
static RESPONSECODE seen[MAX_SLOTS];
static pthread_t poller[MAX_SLOTS];
static atomic_int has_poller[MAX_SLOTS];

static RESPONSECODE locked_presence(DWORD lun) {
    RESPONSECODE rc;
    pthread_mutex_lock(&slot_lock[slot_of(lun)]);
    rc = inner.presence(lun);
    pthread_mutex_unlock(&slot_lock[slot_of(lun)]);
    return rc;
}

/* pcscd's polling thread: back when the slot's state changes, at the timeout, or when
 * asked to stop. IFD_SUCCESS in every case: pcscd then checks the presence itself. */
static RESPONSECODE IFDHPolling(DWORD lun, int timeout_ms) {
    const struct timespec tick = {0, EVENT_POLL_MS * 1000000L};
    size_t slot = slot_of(lun);
    long long deadline = now_ms() + timeout_ms;
    RESPONSECODE was;

    if (load_failed)
        return IFD_COMMUNICATION_ERROR; /* pcscd falls back to its own 400 ms sleep */
    if (!atomic_load(&has_poller[slot])) {
        poller[slot] = pthread_self();
        atomic_store(&has_poller[slot], 1);
    }
    pthread_mutex_lock(&slot_lock[slot]);
    was = seen[slot];
    pthread_mutex_unlock(&slot_lock[slot]);
    while (now_ms() < deadline) {
        if (atomic_exchange(&stopping[slot], 0) || locked_presence(lun) != was)
            break;
        nanosleep(&tick, NULL);
    }
    return IFD_SUCCESS;
}

/* pcscd asks for the current wait to end: when the last client disconnects (so that it
 * waits again with the power-off grace period as timeout) and when it removes the
 * reader. One request ends one wait; one made between two waits ends the next. */
static RESPONSECODE IFDHStopPolling(DWORD lun) {
    atomic_store(&stopping[slot_of(lun)], 1);
    return IFD_SUCCESS;
}

static void fresh_slot(DWORD lun) {
    atomic_store(&stopping[slot_of(lun)], 0);
    atomic_store(&has_poller[slot_of(lun)], 0);
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel) {
    fresh_slot(Lun);
    CALL(Lun, inner.create(Lun, Channel));
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName) {
    fresh_slot(Lun);
    CALL(Lun, inner.create_by_name(Lun, DeviceName));
}

RESPONSECODE IFDHCloseChannel(DWORD Lun) { CALL(Lun, inner.close(Lun)); }

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value) {
    void *fn = NULL;

    if (Tag == TAG_IFD_POLLING_THREAD_WITH_TIMEOUT)
        fn = (void *)&IFDHPolling;
    else if (Tag == TAG_IFD_STOP_POLLING_THREAD)
        fn = (void *)&IFDHStopPolling;
    if (fn) {
        if (!Length || !Value || *Length < sizeof fn)
            return IFD_ERROR_INSUFFICIENT_BUFFER;
        memcpy(Value, &fn, sizeof fn);
        *Length = sizeof fn;
        return IFD_SUCCESS;
    }
    CALL(Lun, inner.get_caps(Lun, Tag, Length, Value));
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value) {
    CALL(Lun, inner.set_caps(Lun, Tag, Length, Value));
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                                       UCHAR PTS2, UCHAR PTS3) {
    CALL(Lun, inner.set_proto(Lun, Protocol, Flags, PTS1, PTS2, PTS3));
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength) {
    CALL(Lun, inner.power(Lun, Action, Atr, AtrLength));
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
                               DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
                               PSCARD_IO_HEADER RecvPci) {
    CALL(Lun, inner.transmit(Lun, SendPci, TxBuffer, TxLength, RxBuffer, RxLength, RecvPci));
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
                         PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned) {
    CALL(Lun, inner.control(Lun, dwControlCode, TxBuffer, TxLength, RxBuffer, RxLength,
                            pdwBytesReturned));
}

RESPONSECODE IFDHICCPresence(DWORD Lun) {
    size_t slot = slot_of(Lun);
    RESPONSECODE rc;

    pthread_once(&loaded, load);
    if (load_failed)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&slot_lock[slot]);
    rc = inner.presence(Lun);
    if (!atomic_load(&has_poller[slot]) || pthread_equal(poller[slot], pthread_self()))
        seen[slot] = rc;
    pthread_mutex_unlock(&slot_lock[slot]);
    return rc;
}
