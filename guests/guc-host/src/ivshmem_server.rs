//! The ivshmem server side of QEMU's `ivshmem-doorbell` device, for one peer (the VM): hands
//! QEMU the shared-memory file and one eventfd per vector over a unix socket, and interrupts
//! the guest (an MSI-X vector of the device) by writing to that vector's eventfd.
//!
//! The protocol (QEMU's `docs/specs/ivshmem-spec.rst`): every message is a little-endian `i64`,
//! some with a file descriptor (SCM_RIGHTS): the protocol version 0; the peer's own ID; -1 with
//! the shared memory; then, per vector, the peer's own ID with that vector's eventfd (QEMU waits
//! in its device setup until it got one for its own ID).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// The VM's peer ID: 0, the first peer (QEMU requires it of a `master=on` device).
const PEER_ID: i64 = 0;

/// The server: listening until QEMU connects, then the connection and the eventfd.
pub struct Server {
    listener: UnixListener,
    peer: Option<(UnixStream, RawFd)>,
}

impl Server {
    /// Listens on `path` (removed first if it exists).
    pub fn bind(path: &Path) -> io::Result<Server> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            peer: None,
        })
    }

    /// Accepts QEMU if it is connecting and sends it the setup (`shm` is the shared memory's
    /// fd); true once a peer is set up. Never blocks.
    pub fn poll_accept(&mut self, shm: RawFd) -> io::Result<bool> {
        if self.peer.is_some() {
            return Ok(true);
        }
        let stream = match self.listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        };
        stream.set_nonblocking(false)?;
        // SAFETY: eventfd(2) with valid flags; the result is checked.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        send(&stream, 0, None)?; // protocol version
        send(&stream, PEER_ID, None)?; // the VM's ID
        send(&stream, -1, Some(shm))?; // the shared memory
        send(&stream, PEER_ID, Some(efd))?; // vector 0's eventfd
        self.peer = Some((stream, efd));
        Ok(true)
    }

    /// Raises MSI-X vector 0 in the guest; false when no VM is connected.
    pub fn notify(&self) -> bool {
        let Some((_, efd)) = &self.peer else {
            return false;
        };
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to an eventfd we own.
        unsafe { libc::write(*efd, one.as_ptr().cast(), one.len()) == 8 }
    }
}

/// One protocol message: `value`, with `fd` attached when given.
fn send(stream: &UnixStream, value: i64, fd: Option<RawFd>) -> io::Result<()> {
    let bytes = value.to_le_bytes();
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // u64s: aligned for cmsghdr; room for CMSG_SPACE(sizeof(int)).
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is valid (no name, no control); the fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        let int = std::mem::size_of::<libc::c_int>() as u32;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is pure arithmetic.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(int) } as usize;
        // SAFETY: `msg_control` points to `control` (32 bytes, 8-aligned), which holds one
        // header plus an int (CMSG_SPACE(4) = 24 here); CMSG_FIRSTHDR/CMSG_DATA stay inside it.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(int) as usize;
            libc::CMSG_DATA(cmsg)
                .cast::<libc::c_int>()
                .write_unaligned(fd);
        }
    }
    // SAFETY: `msg` points to live buffers for the duration of the call.
    let n = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, 0) };
    if n == bytes.len() as isize {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// One message as QEMU receives it: the value and the fd, if any.
    fn recv(stream: &UnixStream) -> (i64, Option<RawFd>) {
        let mut bytes = [0u8; 8];
        let mut iov = libc::iovec {
            iov_base: bytes.as_mut_ptr().cast(),
            iov_len: 8,
        };
        let mut control = [0u64; 4];
        // SAFETY: a zeroed msghdr pointing at live buffers; CMSG_* stay inside `control`.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control);
            assert_eq!(libc::recvmsg(stream.as_raw_fd(), &mut msg, 0), 8);
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            let fd = (!cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS)
                .then(|| libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned());
            (i64::from_le_bytes(bytes), fd)
        }
    }

    #[test]
    fn hands_qemu_the_memory_and_the_vector_eventfd_then_interrupts_through_it() {
        let dir = std::env::temp_dir().join(format!("xe-ivshmem-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut shm = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("shm"))
            .unwrap();
        shm.write_all(b"shared").unwrap();
        let mut server = Server::bind(&dir.join("sock")).unwrap();
        assert!(
            !server.poll_accept(shm.as_raw_fd()).unwrap(),
            "nobody connected yet"
        );
        assert!(!server.notify());
        let qemu = UnixStream::connect(dir.join("sock")).unwrap();
        assert!(server.poll_accept(shm.as_raw_fd()).unwrap());
        assert_eq!(recv(&qemu), (0, None), "protocol version");
        assert_eq!(recv(&qemu), (PEER_ID, None), "own ID");
        let (m, Some(mem)) = recv(&qemu) else {
            panic!("no shared-memory fd")
        };
        assert_eq!(m, -1);
        let mut content = String::new();
        use std::io::{Read as _, Seek as _};
        // SAFETY: `mem` is a fresh fd received just now, owned by this File from here on.
        let mut mem = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(mem) };
        mem.rewind().unwrap();
        mem.read_to_string(&mut content).unwrap();
        assert_eq!(content, "shared", "the very file");
        let (id, Some(efd)) = recv(&qemu) else {
            panic!("no eventfd")
        };
        assert_eq!(id, PEER_ID, "vector 0 of the VM itself");
        assert!(server.notify());
        let mut count = [0u8; 8];
        // SAFETY: reads 8 bytes from the received eventfd into a live buffer.
        assert_eq!(unsafe { libc::read(efd, count.as_mut_ptr().cast(), 8) }, 8);
        assert_eq!(u64::from_ne_bytes(count), 1, "one interrupt");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
