// Command wanem is the direct-connection lab's WAN emulator. This kernel has no sch_netem (and no
// module loading), so the lab's "internet" router sends every packet it forwards between sites
// through a TUN device instead: wanem reads each IPv4 packet, holds it for the one-way delay of
// its source site plus that of its destination site, and writes it back, after which the kernel
// forwards it on. Packets between sites A and B therefore see a round trip of 2*(dA+dB).
//
//	wanem -dev dpt-wan0 -site 192.0.2.0/24=2.5 -site 203.0.113.0/24=17.5 ...
//
// It creates the TUN device itself (it disappears when wanem exits), prints "ready <dev>" once
// it reads packets, and on SIGTERM/SIGINT prints one JSON line of counters and exits. Only the
// standard library is used.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

type site struct {
	prefix netip.Prefix
	delay  time.Duration
}

type siteFlags []site

func (s *siteFlags) String() string { return fmt.Sprint(*s) }

func (s *siteFlags) Set(v string) error {
	cidr, ms, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want CIDR=milliseconds, got %q", v)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(ms, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("bad delay %q", ms)
	}
	*s = append(*s, site{p.Masked(), time.Duration(f * float64(time.Millisecond))})
	return nil
}

func (s siteFlags) delayOf(a netip.Addr) time.Duration {
	for _, x := range s {
		if x.prefix.Contains(a) {
			return x.delay
		}
	}
	return 0
}

type packet struct {
	due  time.Time
	data []byte
}

func openTun(name string) (*os.File, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var ifr [40]byte
	copy(ifr[:15], name)
	*(*uint16)(unsafe.Pointer(&ifr[16])) = syscall.IFF_TUN | syscall.IFF_NO_PI
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(syscall.TUNSETIFF), uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

func main() {
	var sites siteFlags
	dev := flag.String("dev", "dpt-wan0", "TUN device to create")
	flag.Var(&sites, "site", "CIDR=one-way delay in ms (repeatable)")
	flag.Parse()

	tun, err := openTun(*dev)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wanem:", err)
		os.Exit(1)
	}

	var forwarded, dropped, nonIPv4 atomic.Uint64
	// One FIFO per distinct delay: inside a queue the due times never decrease, so a sleeping
	// writer per queue keeps packet order and exact delays without a timer heap.
	queues := map[time.Duration]chan packet{}
	queueFor := func(d time.Duration) chan packet {
		if q, ok := queues[d]; ok {
			return q
		}
		q := make(chan packet, 8192)
		queues[d] = q
		go func() {
			for p := range q {
				if wait := time.Until(p.due); wait > 0 {
					time.Sleep(wait)
				}
				if _, err := tun.Write(p.data); err != nil {
					dropped.Add(1)
					continue
				}
				forwarded.Add(1)
			}
		}()
		return q
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		b, _ := json.Marshal(map[string]uint64{"forwarded": forwarded.Load(), "dropped": dropped.Load(), "nonIPv4": nonIPv4.Load()})
		fmt.Println(string(b))
		os.Exit(0)
	}()

	fmt.Printf("ready %s\n", *dev)
	buf := make([]byte, 65536)
	for {
		n, err := tun.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wanem: read:", err)
			os.Exit(1)
		}
		now := time.Now()
		if n < 20 || buf[0]>>4 != 4 {
			nonIPv4.Add(1)
			continue
		}
		src := netip.AddrFrom4([4]byte(buf[12:16]))
		dst := netip.AddrFrom4([4]byte(buf[16:20]))
		d := sites.delayOf(src) + sites.delayOf(dst)
		p := packet{due: now.Add(d), data: append([]byte(nil), buf[:n]...)}
		select {
		case queueFor(d) <- p:
		default:
			dropped.Add(1)
		}
	}
}
