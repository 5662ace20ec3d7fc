/**
 * docker network connect / disconnect: a container joins or leaves a network
 * after create. Its recorded endpoints change; when it runs, the endpoint is
 * also added or deleted live and its /etc/hosts rewritten.
 */
import { BerthError, InvalidArgumentError } from '../../core/errors.js';
import type { EndpointConfig } from '../containers/record.js';
import type { ContainerService } from '../containers/service.js';
import { addEndpoint, delEndpoint, liveNetns, saveState, type AttachHost } from './attach.js';
import { checkEndpoint, driverOptsOf, endpointsOf, ipamConfigOf } from './endpoints.js';

/** What connect and disconnect need of the network service: attach's, and the containers' records and /etc/hosts. */
export interface ConnectHost extends AttachHost {
  readonly containers: Pick<ContainerService, 'get' | 'tryGet' | 'list' | 'rewriteHosts' | 'persist'>;
}

/** Put a container on a network: recorded, and live when it runs. */
export async function connectContainer(svc: ConnectHost, netRef: string, ctrRef: string, cfg: Partial<EndpointConfig> | null | undefined): Promise<void> {
  const n = svc.get(netRef);
  const c = svc.containers.get(ctrRef);
  const mode = c.rec.HostConfig.NetworkMode || 'default';
  if (mode.startsWith('container:'))
    throw new BerthError('container sharing network namespace with another container or host cannot be connected to any other network', 403);
  if (mode === 'host' || n.Driver === 'host') throw new InvalidArgumentError('container cannot be disconnected from host network or connected to host network');
  if (mode === 'none' || n.Driver === 'null')
    throw new BerthError('container cannot be connected to multiple networks with one of the networks in private (none) mode', 403);
  checkEndpoint(n, cfg ?? {});
  await svc.released();
  await svc.locks.run(c.rec.Id, async () => {
    const eps = { ...endpointsOf(svc, c) };
    if (n.Name in eps) throw new BerthError(`endpoint with name ${c.rec.Name.slice(1)} already exists in network ${n.Name}`, 403);
    const ep: EndpointConfig = {
      NetworkID: n.Id,
      Aliases: cfg?.Aliases?.length ? [...cfg.Aliases] : null,
      IPAMConfig: ipamConfigOf(cfg),
      Links: null,
      MacAddress: '',
      DriverOpts: driverOptsOf(cfg),
    };
    const st = svc.state.get(c.rec.Id);
    if (c.state.Running && st) {
      try {
        await addEndpoint(svc, c, st, n, ep);
      } catch (e) {
        const added = st.Endpoints.find((x) => x.NetworkID === n.Id);
        if (added) {
          await delEndpoint(c.rec.Id, await liveNetns(st), added);
          st.Endpoints = st.Endpoints.filter((x) => x !== added);
          await saveState(svc, c.rec.Id, st);
        }
        throw e;
      }
      await svc.containers.rewriteHosts(c, st.Endpoints.map((e) => e.IPAddress).filter(Boolean));
    }
    eps[n.Name] = ep;
    c.rec.Networks = eps;
    await svc.containers.persist(c);
  });
  svc.events.publish('network', 'connect', n.Id, { container: c.rec.Id, name: n.Name, type: n.Driver });
}

/** Take a container off a network: recorded, and live when it runs. */
export async function disconnectContainer(svc: ConnectHost, netRef: string, ctrRef: string, _force = false): Promise<void> {
  const n = svc.get(netRef);
  const c = svc.containers.get(ctrRef);
  const mode = c.rec.HostConfig.NetworkMode || 'default';
  if (mode === 'host' || n.Driver === 'host') throw new InvalidArgumentError('container cannot be disconnected from host network or connected to host network');
  await svc.released();
  let active = false;
  await svc.locks.run(c.rec.Id, async () => {
    const eps = { ...endpointsOf(svc, c) };
    // dockerd's force only reaches endpoints of a container that is gone; for one that is here it is a plain error (500).
    if (!(n.Name in eps)) throw new BerthError(`container ${c.rec.Id} is not connected to ${c.state.Running ? '' : 'the '}network ${n.Name}`, 500);
    const st = svc.state.get(c.rec.Id);
    const ep = st?.Endpoints.find((x) => x.NetworkID === n.Id);
    active = !!(st && ep);
    if (st && ep) {
      await delEndpoint(c.rec.Id, await liveNetns(st), ep);
      st.Endpoints = st.Endpoints.filter((x) => x !== ep);
      await saveState(svc, c.rec.Id, st);
      await svc.containers.rewriteHosts(c, st.Endpoints.map((e) => e.IPAddress).filter(Boolean));
    }
    delete eps[n.Name];
    c.rec.Networks = eps;
    // The primary network gone: Docker keeps the mode name; the next start uses whatever networks remain.
    await svc.containers.persist(c);
  });
  // dockerd tells of a running container's disconnect twice: once as its endpoint goes, once for the request.
  if (active) svc.events.publish('network', 'disconnect', n.Id, { container: c.rec.Id, name: n.Name, type: n.Driver });
  svc.events.publish('network', 'disconnect', n.Id, { container: c.rec.Id, name: n.Name, type: n.Driver });
}
