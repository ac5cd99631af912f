"use client";
import { useEffect, useRef, useState } from "react";

/**
 * One EventSource for a live view, with its state for the "Live" badge.
 *
 * EventSource reconnects by itself after a network drop ("reconnecting"
 * meanwhile), but gives up for good when a reconnect is answered with an
 * error status (e.g. the broker was down and the console answered 503): then
 * we open a new one ourselves, backing off up to 30 s. A stream that stays
 * silent (events come every second) is shown as reconnecting after 5 s and
 * replaced after 20 s, in case a proxy on the way holds it open without data.
 */
export type StreamState = "connecting" | "live" | "reconnecting";

const STALE_MS = 5_000;
const DEAD_MS = 20_000;

export function useEventStream<T>(url: string, event: string, onData: (data: T) => void): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handler = useRef(onData);
  useEffect(() => {
    handler.current = onData;
  });

  useEffect(() => {
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let lastEvent = Date.now();
    let disposed = false;

    const open = () => {
      source?.close();
      lastEvent = Date.now();
      const es = new EventSource(url);
      source = es;
      es.addEventListener(event, (e) => {
        lastEvent = Date.now();
        failures = 0;
        setState("live");
        try {
          handler.current(JSON.parse((e as MessageEvent<string>).data) as T);
        } catch {
          /* a malformed event is skipped, the next one comes in a second */
        }
      });
      es.onerror = () => {
        if (disposed || source !== es) return;
        setState("reconnecting");
        if (es.readyState === EventSource.CLOSED) {
          es.close();
          clearTimeout(retry);
          retry = setTimeout(open, Math.min(30_000, 1000 * 2 ** failures++));
        }
      };
    };

    const watchdog = setInterval(() => {
      const silent = Date.now() - lastEvent;
      if (silent > STALE_MS) setState("reconnecting");
      if (silent > DEAD_MS && source?.readyState !== EventSource.CLOSED) open();
    }, 2_000);

    open();
    return () => {
      disposed = true;
      clearInterval(watchdog);
      clearTimeout(retry);
      source?.close();
    };
  }, [url, event]);

  return state;
}
