// The validated shape of peers.yaml. Everything downstream takes these types, never raw YAML.
import type { NodeId } from '../identity/node-id.js';

export interface Cidr {
  /** Network address literal, canonical form (e.g. "10.77.0.0" or "fd77::"). */
  address: string;
  prefixLength: number;
  family: 4 | 6;
}

/** An underlay endpoint as written in peers.yaml. */
export interface EndpointSpec {
  /** IPv4 or IPv6 literal (no brackets), or a DNS name resolved when the daemon starts. */
  host: string;
  port: number;
  /** The line in peers.yaml, for messages about this endpoint later (e.g. a name that doesn't resolve). */
  line: number;
}

export interface NetworkConfig {
  /** Overlay IPv4 prefix; every member's `address` lies inside it. */
  prefix: Cidr;
  /** Optional overlay IPv6 prefix; members may then have an `address6` inside it. */
  prefix6?: Cidr;
  /** Default UDP port members listen on, and the port of endpoints written without one. */
  port: number;
  /** MTU of the overlay interface. */
  mtu: number;
  /** Chosen neighbours per node (0: probe every member); unset: see config/neighbours.ts. */
  neighbours?: number;
  /**
   * TCP port of the WebSocket transport (accepting, and dialling members' endpoints when UDP to them
   * fails). Undefined: the same number as the UDP port; 0: the ws transport is off.
   */
  tcpPort?: number;
  /** Certificate and key files (PEM): the ws transport speaks TLS (wss), e.g. on port 443. */
  tls?: { cert: string; key: string };
  /**
   * Seconds between keepalives on direct links through a NAT that are in use or recently used
   * (nat/keepalive-schedule.ts); absent means DEFAULT_NAT_KEEPALIVE_S.
   */
  natKeepalive?: number;
  /**
   * Lower the MSS option of TCP SYNs read from the TUN to the path MTU (forward/mss-clamp.ts), for hosts
   * that ignore ICMP "too big". Absent: off.
   */
  mssClamp?: boolean;
}

/**
 * A LAN behind a member (peers.yaml `subnets`): every other member routes it into the overlay to this
 * member, which forwards it onto the LAN. Two members listing the same prefix are redundant gateways.
 */
export interface SubnetConfig {
  prefix: Cidr;
  /**
   * The gateway rewrites the source of what it forwards from the overlay into this subnet to its own
   * LAN address (an nftables table the daemon owns), so the LAN needs no route back to the overlay.
   */
  masquerade: boolean;
  /** The line in peers.yaml. */
  line: number;
}

export interface PeerConfig {
  name: string;
  /** 32-byte Ed25519 public key. */
  publicKey: Buffer;
  /** The key as written in peers.yaml (base64). */
  publicKeyText: string;
  /** Derived from the public key; what travels in packet headers. */
  id: NodeId;
  /** Overlay IPv4 address. */
  address: string;
  /** Overlay IPv6 address, if the network has a prefix6. */
  address6?: string;
  /** Underlay endpoints to reach this member directly; may be empty (it then reaches us, or via relays). */
  endpoints: EndpointSpec[];
  /** LANs this member is a gateway for; empty for most members. */
  subnets: SubnetConfig[];
}

export interface OverlayConfig {
  /** Absolute path of the file this came from, for messages. */
  file: string;
  /**
   * SHA-256 of the file's text, hex. The file is the same at every site, so equal hashes in
   * `overlayd status` and overlayd_config_info mean the sites run the same membership.
   */
  sha256: string;
  network: NetworkConfig;
  peers: PeerConfig[];
}
