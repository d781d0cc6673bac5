// WebRTC streaming client (R2): the guide's snippet plus the two steps it leaves out, the results data
// channel and the non-trickle offer/answer. docs/streaming.md explains each step. Two ways in:
//  - the API key: the page creates the session itself (your own tools: the secret is in the page);
//  - a link from the tenant's backend: `session` id and `token` (the session's page_token), so the
//    page never sees the API secret; it reads the session, sends its offer and closes it with the token.

/**
 * Starts a stream; `onMessage` gets every result message (the WebSocket's `recognition_result` / `error`).
 * @param {{ apiKey?: string, secretKey?: string, sessionId?: string, pageToken?: string, mode?: string,
 *           options?: object, base?: string, onCamera?: (stream: MediaStream) => void }} opts
 *   with apiKey/secretKey a session is created (mode, options); with sessionId/pageToken the backend's one is used.
 * @returns {Promise<{ session: object, stop: () => Promise<void> }>}
 * @example await startStreaming({ sessionId, pageToken }, (m) => console.log(m))
 */
export async function startStreaming({ apiKey, secretKey, sessionId, pageToken, mode = 'identification', options = {}, base = '', onCamera }, onMessage) {
  const headers = pageToken ? { 'X-Stream-Token': pageToken, 'Content-Type': 'application/json' } : { Authorization: `ApiKey ${apiKey}:${secretKey}`, 'Content-Type': 'application/json' };
  const call = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const data = res.status === 204 ? null : await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(data?.message ?? res.statusText), { code: data?.code ?? `HTTP_${res.status}` });
    return data;
  };

  // Create WebRTC session (API key), or read the one the backend created (page token)
  const session = pageToken
    ? await call('GET', `/api/streaming/sessions/${encodeURIComponent(sessionId)}/`)
    : await call('POST', '/api/streaming/sessions/', { session_type: 'webrtc', mode, ...options });

  // Setup peer connection
  const peerConnection = new RTCPeerConnection({ iceServers: session.ice_servers });

  // Results come back on a data channel the browser opens (before the offer, so it is negotiated in it).
  const results = peerConnection.createDataChannel(session.data_channel);
  results.onmessage = (e) => onMessage(JSON.parse(e.data));

  // Add video stream
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (e) {
    peerConnection.close();
    await call('DELETE', `/api/streaming/sessions/${session.session_id}/`).catch(() => {});
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    throw Object.assign(new Error(e?.message ?? String(e)), { code: denied ? 'CAMERA_DENIED' : 'CAMERA_UNAVAILABLE' });
  }
  onCamera?.(stream);
  stream.getTracks().forEach((track) => {
    peerConnection.addTrack(track, stream);
  });

  // Non-trickle: wait until ICE gathering completes, then send the whole offer; the answer is complete too.
  await peerConnection.setLocalDescription(await peerConnection.createOffer());
  await new Promise((resolve) => {
    if (peerConnection.iceGatheringState === 'complete') return resolve();
    peerConnection.addEventListener('icegatheringstatechange', () => peerConnection.iceGatheringState === 'complete' && resolve());
  });
  let answer;
  try {
    answer = await call('POST', session.offer_url, { type: 'offer', sdp: peerConnection.localDescription.sdp });
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    peerConnection.close();
    throw e;
  }
  await peerConnection.setRemoteDescription({ type: 'answer', sdp: answer.sdp });

  async function stop() {
    stream.getTracks().forEach((t) => t.stop());
    peerConnection.close();
    await call('DELETE', `/api/streaming/sessions/${session.session_id}/`).catch(() => {});
  }
  return { session, stop };
}
