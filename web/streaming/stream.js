// WebRTC streaming client (R2): the guide's snippet plus the two steps it leaves out, the results data
// channel and the non-trickle offer/answer. docs/streaming.md explains each step.

/**
 * Starts a stream; `onMessage` gets every result message (the WebSocket's `recognition_result` / `error`).
 * @returns {Promise<{ session: object, stop: () => Promise<void> }>}
 */
export async function startStreaming({ apiKey, secretKey, mode = 'identification', options = {}, base = '' }, onMessage) {
  const headers = { Authorization: `ApiKey ${apiKey}:${secretKey}`, 'Content-Type': 'application/json' };
  // Create WebRTC session
  const response = await fetch(`${base}/api/streaming/sessions/`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ session_type: 'webrtc', mode, ...options }),
  });
  const session = await response.json();
  if (!response.ok) throw Object.assign(new Error(session.message), { code: session.code });

  // Setup peer connection
  const peerConnection = new RTCPeerConnection({ iceServers: session.ice_servers });

  // Results come back on a data channel the browser opens (before the offer, so it is negotiated in it).
  const results = peerConnection.createDataChannel(session.data_channel);
  results.onmessage = (e) => onMessage(JSON.parse(e.data));

  // Add video stream
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  stream.getTracks().forEach((track) => {
    peerConnection.addTrack(track, stream);
  });

  // Non-trickle: wait until ICE gathering completes, then send the whole offer; the answer is complete too.
  await peerConnection.setLocalDescription(await peerConnection.createOffer());
  await new Promise((resolve) => {
    if (peerConnection.iceGatheringState === 'complete') return resolve();
    peerConnection.addEventListener('icegatheringstatechange', () => peerConnection.iceGatheringState === 'complete' && resolve());
  });
  const offer = await fetch(`${base}${session.offer_url}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ type: 'offer', sdp: peerConnection.localDescription.sdp }),
  });
  const answer = await offer.json();
  if (!offer.ok) throw Object.assign(new Error(answer.message), { code: answer.code });
  await peerConnection.setRemoteDescription({ type: 'answer', sdp: answer.sdp });

  async function stop() {
    stream.getTracks().forEach((t) => t.stop());
    peerConnection.close();
    await fetch(`${base}/api/streaming/sessions/${session.session_id}/`, { method: 'DELETE', headers }).catch(() => {});
  }
  return { session, stop };
}
