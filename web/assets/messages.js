// The one message table: a plain-language result and what to do next, in English and Indonesian, for
// every error code of docs/errors.md, the page's own codes, authentication outcomes, failure reasons
// and live guidance. The console, the camera page, the SSO page and voice guidance all read it, so no
// page shows or speaks a raw code as its message.
import { lang } from './i18n.js';

/** Next steps a message can offer; each page decides what the button does. */
export const NEXT = {
  retry: { en: 'Try again', id: 'Coba lagi' },
  pin: { en: 'Use PIN', id: 'Gunakan PIN' },
  signin: { en: 'Sign in again', id: 'Masuk lagi' },
  fix: { en: 'Correct the form', id: 'Perbaiki isian' },
  wait: { en: 'Wait, then try again', id: 'Tunggu, lalu coba lagi' },
  enroll: { en: 'Enroll first', id: 'Daftarkan wajah dulu' },
  restart: { en: 'Start again', id: 'Mulai lagi' },
  operator: { en: 'Contact the operator', id: 'Hubungi operator' },
  camera: { en: 'Allow the camera', id: 'Izinkan kamera' },
  back: { en: 'Back to the application', id: 'Kembali ke aplikasi' },
};

/**
 * code → { en: [what happened, what to do], id: [...], next }.
 * @example MESSAGES.NO_FACE_DETECTED.id[0] // 'Wajah tidak terlihat.'
 */
export const MESSAGES = {
  // ---- error codes of docs/errors.md ----
  VALIDATION_ERROR: { next: 'fix', en: ['Some of the information entered is not valid.', 'Check the highlighted field and try again.'], id: ['Ada isian yang tidak valid.', 'Periksa isian yang ditandai, lalu coba lagi.'] },
  INVALID_JSON: { next: 'fix', en: ['The data sent could not be read.', 'Check the text you entered (JSON) and try again.'], id: ['Data yang dikirim tidak dapat dibaca.', 'Periksa teks (JSON) yang Anda isi, lalu coba lagi.'] },
  INVALID_CREDENTIALS: { next: 'signin', en: ['The API key or secret is not right.', 'Check both and sign in again. If the key was revoked, ask the operator for a new one.'], id: ['Kunci API atau kunci rahasia salah.', 'Periksa keduanya lalu masuk lagi. Jika kunci sudah dicabut, minta kunci baru kepada operator.'] },
  ADMIN_TOKEN_REQUIRED: { next: 'signin', en: ['The operator token is missing.', 'Sign in as operator with the server’s admin token.'], id: ['Token operator belum diisi.', 'Masuk sebagai operator dengan token admin server.'] },
  NOT_AUTHENTICATED: { next: 'signin', en: ['You are not signed in yet.', 'Sign in first, then try again.'], id: ['Anda belum masuk.', 'Masuk terlebih dahulu, lalu coba lagi.'] },
  ADMIN_TOKEN_INVALID: { next: 'signin', en: ['The operator token is not right.', 'Check the token (WAJAH_ADMIN_TOKEN) and sign in again.'], id: ['Token operator salah.', 'Periksa token (WAJAH_ADMIN_TOKEN) lalu masuk lagi.'] },
  ADMIN_DISABLED: { next: 'operator', en: ['Operator access is turned off on this server.', 'The server administrator must set an admin token and restart it.'], id: ['Akses operator dimatikan di server ini.', 'Administrator server harus mengatur token admin lalu memulai ulang server.'] },
  IP_NOT_ALLOWED: { next: 'operator', en: ['Requests from this network are not allowed.', 'Use an allowed network, or ask the operator to add this address.'], id: ['Permintaan dari jaringan ini tidak diizinkan.', 'Gunakan jaringan yang diizinkan, atau minta operator menambahkan alamat ini.'] },
  CLIENT_DISABLED: { next: 'operator', en: ['This account has been disabled.', 'Contact the operator to have it enabled again.'], id: ['Akun ini dinonaktifkan.', 'Hubungi operator agar diaktifkan kembali.'] },
  NOT_FOUND: { next: 'retry', en: ['This item does not exist (any more).', 'Refresh the list and try again.'], id: ['Data ini tidak ada (lagi).', 'Muat ulang daftar lalu coba lagi.'] },
  ROUTE_NOT_FOUND: { next: 'operator', en: ['The server does not offer this function.', 'The page and the server may be different versions; tell the operator.'], id: ['Server tidak menyediakan fungsi ini.', 'Versi halaman dan server mungkin berbeda; beri tahu operator.'] },
  CLIENT_NOT_FOUND: { next: 'retry', en: ['This client does not exist.', 'Refresh the list of clients.'], id: ['Klien ini tidak ada.', 'Muat ulang daftar klien.'] },
  API_KEY_NOT_FOUND: { next: 'retry', en: ['This API key does not exist.', 'Refresh the list of keys.'], id: ['Kunci API ini tidak ada.', 'Muat ulang daftar kunci.'] },
  USER_NOT_FOUND: { next: 'fix', en: ['No user has this ID.', 'Check the user ID (external ID) and try again.'], id: ['Tidak ada pengguna dengan ID ini.', 'Periksa ID pengguna (ID eksternal) lalu coba lagi.'] },
  ENROLLMENT_NOT_FOUND: { next: 'retry', en: ['This enrollment does not exist any more.', 'Refresh the user’s page.'], id: ['Pendaftaran wajah ini sudah tidak ada.', 'Muat ulang halaman pengguna.'] },
  REVIEW_NOT_FOUND: { next: 'retry', en: ['This review request does not exist.', 'Refresh the review queue.'], id: ['Permintaan tinjauan ini tidak ada.', 'Muat ulang antrean tinjauan.'] },
  SESSION_NOT_FOUND: { next: 'restart', en: ['This session has ended.', 'Start again.'], id: ['Sesi ini sudah berakhir.', 'Mulai lagi.'] },
  WEBHOOK_NOT_FOUND: { next: 'retry', en: ['This webhook endpoint does not exist any more.', 'Refresh the list of endpoints.'], id: ['Endpoint webhook ini sudah tidak ada.', 'Muat ulang daftar endpoint.'] },
  WEBHOOK_LOG_NOT_FOUND: { next: 'retry', en: ['This delivery does not exist any more.', 'Refresh the delivery log.'], id: ['Pengiriman ini sudah tidak ada.', 'Muat ulang log pengiriman.'] },
  INVALID_WEBHOOK_URL: { next: 'fix', en: ['This webhook address cannot be used.', 'Use a full http(s) address that the server can reach, without a user name or password in it.'], id: ['Alamat webhook ini tidak dapat dipakai.', 'Gunakan alamat http(s) lengkap yang dapat dijangkau server, tanpa nama pengguna atau kata sandi di dalamnya.'] },
  WEBHOOK_LIMIT_EXCEEDED: { next: 'fix', en: ['You already have the maximum number of webhook endpoints.', 'Delete an endpoint you no longer use.'], id: ['Jumlah endpoint webhook sudah maksimum.', 'Hapus endpoint yang tidak dipakai lagi.'] },
  WEBHOOK_DELIVERY_IN_PROGRESS: { next: 'wait', en: ['This delivery is being sent right now.', 'Wait for its outcome, then retry if it failed.'], id: ['Pengiriman ini sedang berlangsung.', 'Tunggu hasilnya, lalu coba lagi jika gagal.'] },
  WEBHOOK_TEST_BUSY: { next: 'wait', en: ['A test of this endpoint is still running.', 'Wait for its answer, then try again.'], id: ['Uji endpoint ini masih berjalan.', 'Tunggu jawabannya, lalu coba lagi.'] },
  METHOD_NOT_ALLOWED: { next: 'operator', en: ['The server does not accept this action here.', 'The page and the server may be different versions; tell the operator.'], id: ['Server tidak menerima tindakan ini di sini.', 'Versi halaman dan server mungkin berbeda; beri tahu operator.'] },
  USER_EXISTS: { next: 'fix', en: ['A user with this ID already exists.', 'Choose another external ID, or open the existing user.'], id: ['Pengguna dengan ID ini sudah ada.', 'Pilih ID eksternal lain, atau buka pengguna yang sudah ada.'] },
  KEY_NOT_ROTATABLE: { next: 'fix', en: ['A CompreFace key cannot be rotated.', 'Issue a new CompreFace key for the same service, then revoke this one.'], id: ['Kunci CompreFace tidak dapat dirotasi.', 'Terbitkan kunci CompreFace baru untuk layanan yang sama, lalu cabut kunci ini.'] },
  API_KEY_REVOKED: { next: 'fix', en: ['This key is revoked or expired.', 'Issue a new key instead.'], id: ['Kunci ini sudah dicabut atau kedaluwarsa.', 'Terbitkan kunci baru sebagai gantinya.'] },
  USER_INACTIVE: { next: 'operator', en: ['This user is deactivated.', 'An administrator can activate the user again in the console.'], id: ['Pengguna ini dinonaktifkan.', 'Administrator dapat mengaktifkannya kembali di konsol.'] },
  REVIEW_ALREADY_DECIDED: { next: 'retry', en: ['This review was already decided.', 'Refresh the queue.'], id: ['Tinjauan ini sudah diputuskan.', 'Muat ulang antrean.'] },
  REVIEW_ALREADY_PENDING: { next: 'wait', en: ['A review for this user is already waiting.', 'Wait for its decision.'], id: ['Tinjauan untuk pengguna ini sudah menunggu.', 'Tunggu keputusannya.'] },
  SESSION_COMPLETED: { next: 'restart', en: ['This session is already finished.', 'Start again for a new attempt.'], id: ['Sesi ini sudah selesai.', 'Mulai lagi untuk percobaan baru.'] },
  SESSION_EXPIRED: { next: 'restart', en: ['The time for this session ran out.', 'Start again.'], id: ['Waktu sesi ini habis.', 'Mulai lagi.'] },
  PAYLOAD_TOO_LARGE: { next: 'fix', en: ['What was sent is too large.', 'Use a smaller photo.'], id: ['Data yang dikirim terlalu besar.', 'Gunakan foto yang lebih kecil.'] },
  IMAGE_TOO_LARGE: { next: 'fix', en: ['The photo is too large.', 'Use a photo of at most 40 megapixels.'], id: ['Foto terlalu besar.', 'Gunakan foto maksimal 40 megapiksel.'] },
  UNSUPPORTED_MEDIA_TYPE: { next: 'fix', en: ['This file type is not supported.', 'Use a JPEG, PNG or WebP photo.'], id: ['Jenis berkas ini tidak didukung.', 'Gunakan foto JPEG, PNG, atau WebP.'] },
  INVALID_IMAGE: { next: 'retry', en: ['The photo could not be read.', 'Use another photo (JPEG, PNG or WebP).'], id: ['Foto tidak dapat dibaca.', 'Gunakan foto lain (JPEG, PNG, atau WebP).'] },
  NO_FACE_DETECTED: { next: 'retry', en: ['No face can be seen.', 'Look at the camera with light on your face.'], id: ['Wajah tidak terlihat.', 'Hadapkan wajah ke kamera dengan cahaya yang cukup.'] },
  MULTIPLE_FACES: { next: 'retry', en: ['More than one face can be seen.', 'Only one person should be in view.'], id: ['Terlihat lebih dari satu wajah.', 'Hanya satu orang yang boleh terlihat.'] },
  POOR_IMAGE_QUALITY: { next: 'retry', en: ['The picture is not clear enough.', 'Add light, look straight at the camera and hold still.'], id: ['Gambar kurang jelas.', 'Tambah cahaya, lihat lurus ke kamera, dan jangan bergerak.'] },
  ENROLLMENT_FRAME_LIMIT: { next: 'restart', en: ['Too many pictures were tried without enough clear ones.', 'Start again in good light, following the instructions.'], id: ['Terlalu banyak gambar dicoba tanpa cukup gambar yang jelas.', 'Mulai lagi di tempat terang sambil mengikuti petunjuk.'] },
  INSUFFICIENT_QUALITY: { next: 'retry', en: ['Not enough clear pictures were taken.', 'Try again in good light, following the instructions.'], id: ['Gambar yang jelas belum cukup.', 'Coba lagi di tempat terang sambil mengikuti petunjuk.'] },
  FACE_MISMATCH: { next: 'retry', en: ['A different face appeared.', 'Only the person being checked should be in view.'], id: ['Wajah yang berbeda muncul.', 'Hanya orang yang diperiksa yang boleh terlihat.'] },
  NOT_ENROLLED: { next: 'enroll', en: ['This person has no face enrolled yet.', 'Enroll the face first.'], id: ['Wajah orang ini belum didaftarkan.', 'Daftarkan wajahnya terlebih dahulu.'] },
  MODEL_MISMATCH: { next: 'enroll', en: ['The saved face was made with an older model.', 'Enroll the face again.'], id: ['Wajah tersimpan dibuat dengan model lama.', 'Daftarkan ulang wajahnya.'] },
  OFFLINE_PACKAGE_INVALID: { next: 'fix', en: ['This offline package is not valid.', 'Issue a new package while online.'], id: ['Paket offline ini tidak valid.', 'Terbitkan paket baru saat online.'] },
  OFFLINE_SIGNATURE_INVALID: { next: 'fix', en: ['This offline package was changed or is not genuine.', 'Issue a new package while online.'], id: ['Paket offline ini telah diubah atau tidak asli.', 'Terbitkan paket baru saat online.'] },
  OFFLINE_PACKAGE_EXPIRED: { next: 'fix', en: ['This offline package has expired.', 'Issue a new package while online.'], id: ['Paket offline ini sudah kedaluwarsa.', 'Terbitkan paket baru saat online.'] },
  OFFLINE_DECRYPTION_FAILED: { next: 'fix', en: ['The package secret is not right.', 'Use the secret given with the package.'], id: ['Rahasia paket salah.', 'Gunakan rahasia yang diberikan bersama paket.'] },
  OFFLINE_CLIENT_MISMATCH: { next: 'fix', en: ['This package was made for another organisation.', 'Ask your own organisation for a package.'], id: ['Paket ini dibuat untuk organisasi lain.', 'Minta paket dari organisasi Anda sendiri.'] },
  OFFLINE_USER_MISMATCH: { next: 'fix', en: ['This package belongs to someone else.', 'Use the package of the person being checked.'], id: ['Paket ini milik orang lain.', 'Gunakan paket milik orang yang sedang diperiksa.'] },
  OFFLINE_PACKAGE_REVOKED: { next: 'operator', en: ['This package was recalled.', 'Ask an administrator for a new package.'], id: ['Paket ini telah ditarik kembali.', 'Minta paket baru kepada administrator.'] },
  OFFLINE_REVOCATIONS_OUTDATED: { next: 'operator', en: ['This recall list is older than the one the device has.', 'Keep the current list and download a fresh one.'], id: ['Daftar penarikan ini lebih lama daripada yang ada di perangkat.', 'Pertahankan daftar yang ada dan unduh yang terbaru.'] },
  OFFLINE_REVOCATIONS_STALE: { next: 'operator', en: ['This device’s recall list is too old.', 'Connect the device to the network so it downloads a fresh list, then try again.'], id: ['Daftar penarikan di perangkat ini sudah terlalu lama.', 'Sambungkan perangkat ke jaringan agar mengunduh daftar terbaru, lalu coba lagi.'] },
  LOW_CONFIDENCE: { next: 'pin', en: ['The face did not match well enough.', 'Try again looking straight at the camera, or use your PIN.'], id: ['Wajah kurang cocok.', 'Coba lagi dengan melihat lurus ke kamera, atau gunakan PIN Anda.'] },
  INVALID_FALLBACK_CREDENTIAL: { next: 'retry', en: ['The PIN or password is wrong.', 'Enter it again carefully.'], id: ['PIN atau kata sandi salah.', 'Masukkan lagi dengan teliti.'] },
  FALLBACK_NOT_SET: { next: 'operator', en: ['No PIN or password is set for this user.', 'Ask an administrator to set one.'], id: ['PIN atau kata sandi belum diatur untuk pengguna ini.', 'Minta administrator untuk mengaturnya.'] },
  FALLBACK_SPRAY_BLOCKED: { next: 'operator', en: ['This PIN cannot be used right now.', 'Use your face, or ask an administrator for help.'], id: ['PIN ini tidak dapat digunakan saat ini.', 'Gunakan wajah Anda, atau minta bantuan administrator.'] },
  FALLBACK_LOCKED: { next: 'wait', en: ['Too many wrong tries: the PIN is locked for a while.', 'Wait and try later, or ask an administrator to unlock it.'], id: ['Terlalu banyak percobaan salah: PIN dikunci sementara.', 'Tunggu lalu coba lagi nanti, atau minta administrator membukanya.'] },
  LIVENESS_FAILED: { next: 'retry', en: ['We could not confirm that a live person is in front of the camera.', 'Try again and follow each instruction on the screen.'], id: ['Kami tidak dapat memastikan ada orang sungguhan di depan kamera.', 'Coba lagi dan ikuti setiap petunjuk di layar.'] },
  SSO_CLIENT_NOT_FOUND: { next: 'retry', en: ['This application is not registered.', 'Refresh the list of applications.'], id: ['Aplikasi ini tidak terdaftar.', 'Muat ulang daftar aplikasi.'] },
  SSO_INTERACTION_NOT_FOUND: { next: 'back', en: ['This sign-in has expired or was opened in another browser.', 'Go back to the application and sign in again.'], id: ['Proses masuk ini kedaluwarsa atau dibuka di peramban lain.', 'Kembali ke aplikasi lalu masuk lagi.'] },
  SSO_LOGIN_FINISHED: { next: 'back', en: ['This sign-in is already finished.', 'Go back to the application.'], id: ['Proses masuk ini sudah selesai.', 'Kembali ke aplikasi.'] },
  INVALID_SDP: { next: 'retry', en: ['The video connection could not be set up.', 'Try again, or use another browser.'], id: ['Sambungan video tidak dapat dibuat.', 'Coba lagi, atau gunakan peramban lain.'] },
  STREAM_ALREADY_CONNECTED: { next: 'restart', en: ['This video session is already connected.', 'Start a new session.'], id: ['Sesi video ini sudah tersambung.', 'Mulai sesi baru.'] },
  STREAMING_LIMIT_EXCEEDED: { next: 'wait', en: ['Too many video sessions are open.', 'Close another one, then try again.'], id: ['Terlalu banyak sesi video yang terbuka.', 'Tutup salah satunya, lalu coba lagi.'] },
  USER_LIMIT_EXCEEDED: { next: 'operator', en: ['The maximum number of users is reached.', 'Delete users you no longer need, or ask for a higher plan.'], id: ['Jumlah pengguna sudah maksimum.', 'Hapus pengguna yang tidak diperlukan, atau minta paket lebih tinggi.'] },
  RATE_LIMIT_EXCEEDED: { next: 'wait', en: ['Too many requests this hour.', 'Wait until the limit resets, or ask for a higher plan.'], id: ['Terlalu banyak permintaan dalam satu jam ini.', 'Tunggu hingga batas direset, atau minta paket lebih tinggi.'] },
  FRAME_RATE_EXCEEDED: { next: 'wait', en: ['The camera is sending too fast.', 'It slows down by itself; wait a moment.'], id: ['Kamera mengirim terlalu cepat.', 'Kecepatan akan menyesuaikan sendiri; tunggu sebentar.'] },
  SESSION_LIMIT_EXCEEDED: { next: 'wait', en: ['Too many sessions were started this hour.', 'Wait a while, then try again.'], id: ['Terlalu banyak sesi dimulai dalam satu jam ini.', 'Tunggu sebentar, lalu coba lagi.'] },
  INTERNAL_ERROR: { next: 'retry', en: ['Something went wrong on the server.', 'Try again; if it keeps happening, tell the operator.'], id: ['Terjadi kesalahan di server.', 'Coba lagi; jika terus terjadi, beri tahu operator.'] },
  SERVICE_BUSY: { next: 'wait', en: ['The server is busy.', 'Trying again in a moment.'], id: ['Server sedang sibuk.', 'Mencoba lagi sebentar lagi.'] },
  SERVICE_UNAVAILABLE: { next: 'wait', en: ['The service is not available right now.', 'Try again later.'], id: ['Layanan sedang tidak tersedia.', 'Coba lagi nanti.'] },
  QUERY_TIMEOUT: { next: 'fix', en: ['This report took too long to compute.', 'Choose a shorter period.'], id: ['Laporan ini terlalu lama dihitung.', 'Pilih periode yang lebih pendek.'] },
  DATA_DIR_LOCKED: { next: 'operator', en: ['Another Wajah process is using the database.', 'Stop the other process first.'], id: ['Proses Wajah lain sedang memakai basis data.', 'Hentikan proses lain itu terlebih dahulu.'] },
  MASTER_KEY_MISMATCH: { next: 'operator', en: ['The server’s master key does not match its data.', 'Start the server with the right master key.'], id: ['Kunci induk server tidak cocok dengan datanya.', 'Jalankan server dengan kunci induk yang benar.'] },
  DATABASE_IN_USE: { next: 'operator', en: ['The database is in use by running servers.', 'Stop every server before rotating the key.'], id: ['Basis data sedang dipakai server yang berjalan.', 'Hentikan semua server sebelum memutar kunci.'] },
  MASTER_KEY_IN_USE: { next: 'operator', en: ['A running server still uses the previous master key.', 'Restart every server with the new key, then rotate again.'], id: ['Masih ada server berjalan yang memakai kunci induk lama.', 'Mulai ulang semua server dengan kunci baru, lalu putar kunci lagi.'] },
  MASTER_KEY_OUTDATED: { next: 'retry', en: ['This server is being restarted with a new master key.', 'Try again in a few seconds.'], id: ['Server ini sedang dimulai ulang dengan kunci induk baru.', 'Coba lagi dalam beberapa detik.'] },
  DATABASE_UNAVAILABLE: { next: 'operator', en: ['The server cannot open its database.', 'Check DATABASE_URL, or the space and permissions of the data directory.'], id: ['Server tidak dapat membuka basis datanya.', 'Periksa DATABASE_URL, atau ruang dan izin direktori data.'] },
  DATABASE_TOO_NEW: { next: 'operator', en: ['The database belongs to a newer Wajah release.', 'Start the newer release, or restore an older backup.'], id: ['Basis data milik rilis Wajah yang lebih baru.', 'Jalankan rilis yang lebih baru, atau pulihkan cadangan yang lebih lama.'] },
  MIGRATION_FAILED: { next: 'operator', en: ['Updating the database failed; nothing was changed.', 'Fix the cause in the server log, then start again.'], id: ['Pembaruan basis data gagal; tidak ada yang diubah.', 'Perbaiki penyebabnya di log server, lalu jalankan lagi.'] },
  NEW_MASTER_KEY_INVALID: { next: 'fix', en: ['The new master key is not valid.', 'Give a 32-byte key (64 hex characters).'], id: ['Kunci induk baru tidak valid.', 'Berikan kunci 32 byte (64 karakter heksadesimal).'] },
  SEALED_DATA_UNREADABLE: { next: 'operator', en: ['Some protected data cannot be opened with the current key.', 'Nothing was changed; restore from a backup.'], id: ['Sebagian data terlindungi tidak dapat dibuka dengan kunci saat ini.', 'Tidak ada yang diubah; pulihkan dari cadangan.'] },
  BACKUP_UNAVAILABLE: { next: 'operator', en: ['Backups are made with PostgreSQL tools on this server.', 'Use pg_dump and pg_restore.'], id: ['Cadangan di server ini dibuat dengan alat PostgreSQL.', 'Gunakan pg_dump dan pg_restore.'] },
  BACKUP_INVALID: { next: 'fix', en: ['This backup file is not valid.', 'Use a complete backup made by Wajah.'], id: ['Berkas cadangan ini tidak valid.', 'Gunakan cadangan lengkap yang dibuat oleh Wajah.'] },
  RESTORE_TARGET_NOT_EMPTY: { next: 'fix', en: ['The target already holds a database.', 'Restore into an empty folder.'], id: ['Tujuan sudah berisi basis data.', 'Pulihkan ke folder kosong.'] },
  ONLINE_ROTATION_NEEDS_POSTGRES: { next: 'operator', en: ['Changing the key while the server runs needs PostgreSQL.', 'Stop the server and rotate the key offline.'], id: ['Mengganti kunci saat server berjalan memerlukan PostgreSQL.', 'Hentikan server dan ganti kunci secara offline.'] },
  INVALID_MULTIPART: { next: 'retry', en: ['The upload arrived damaged.', 'Try again.'], id: ['Unggahan tiba dalam keadaan rusak.', 'Coba lagi.'] },
  METADATA_TOO_LARGE: { next: 'fix', en: ['The metadata is too large (16 KiB at most).', 'Keep less data with the user.'], id: ['Metadata terlalu besar (maksimal 16 KiB).', 'Simpan lebih sedikit data pada pengguna.'] },
  COMPREFACE_KEY_MISSING: { next: 'fix', en: ['The service key is missing.', 'Send the x-api-key header.'], id: ['Kunci layanan belum dikirim.', 'Kirim header x-api-key.'] },
  COMPREFACE_KEY_MALFORMED: { next: 'fix', en: ['The service key is not in the right form.', 'Use the key exactly as issued.'], id: ['Format kunci layanan salah.', 'Gunakan kunci persis seperti yang diterbitkan.'] },
  COMPREFACE_KEY_NOT_FOUND: { next: 'fix', en: ['This service key is not known.', 'Check the key and the service it belongs to.'], id: ['Kunci layanan ini tidak dikenal.', 'Periksa kunci dan layanan pemiliknya.'] },
  EXAMPLE_IMAGE_NOT_STORED: { next: 'fix', en: ['This photo was not kept.', 'Photos are stored only when the account chooses to.'], id: ['Foto ini tidak disimpan.', 'Foto hanya disimpan jika akun memilihnya.'] },

  // ---- the pages' own codes ----
  NETWORK_ERROR: { next: 'retry', en: ['The server could not be reached.', 'Check the connection and try again.'], id: ['Server tidak dapat dihubungi.', 'Periksa koneksi lalu coba lagi.'] },
  CAMERA_DENIED: { next: 'camera', en: ['The camera is blocked for this page.', 'Click the camera icon in the address bar, choose “Allow”, then start again.'], id: ['Kamera diblokir untuk halaman ini.', 'Klik ikon kamera di bilah alamat, pilih “Izinkan”, lalu mulai lagi.'] },
  CAMERA_UNAVAILABLE: { next: 'retry', en: ['The camera could not be opened.', 'Check that a camera is connected and not used by another app; the page needs https or localhost.'], id: ['Kamera tidak dapat dibuka.', 'Pastikan kamera terpasang dan tidak dipakai aplikasi lain; halaman ini memerlukan https atau localhost.'] },
  NETWORK_TIMEOUT: { next: 'retry', en: ['The server did not answer in time, so the camera was stopped.', 'Check the connection, then try again.'], id: ['Server tidak menjawab tepat waktu, jadi kamera dihentikan.', 'Periksa koneksi, lalu coba lagi.'] },
  CAMERA_LOST: { next: 'retry', en: ['The camera stopped sending pictures (it may have been unplugged).', 'Connect the camera again, then try again.'], id: ['Kamera berhenti mengirim gambar (mungkin tercabut).', 'Pasang kembali kamera, lalu coba lagi.'] },
  NO_FACE_TIMEOUT: { next: 'retry', en: ['No face was seen for a while, so the camera was stopped.', 'Sit in front of the camera with light on your face, then press Try again.'], id: ['Wajah tidak terlihat cukup lama, jadi kamera dihentikan.', 'Duduklah di depan kamera dengan cahaya pada wajah, lalu tekan Coba lagi.'] },
  CREDENTIALS_NEEDED: { next: 'signin', en: ['You are not signed in.', 'Enter the API key and secret above, or sign in on the console.'], id: ['Anda belum masuk.', 'Isi kunci API dan kunci rahasia di atas, atau masuk di konsol.'] },
  METADATA_INVALID: { next: 'fix', en: ['The metadata is not a valid JSON object.', 'Write it as {"key": "value"} or leave it empty.'], id: ['Metadata bukan objek JSON yang valid.', 'Tulis sebagai {"kunci": "nilai"} atau kosongkan.'] },

  // ---- failure reasons of a decision ----
  NO_MATCH: { next: 'retry', en: ['This face is not recognised.', 'Try again looking straight at the camera, or enroll first.'], id: ['Wajah ini tidak dikenali.', 'Coba lagi dengan melihat lurus ke kamera, atau daftar terlebih dahulu.'] },
  SPOOF_DETECTED: { next: 'retry', en: ['This looked like a photo or a screen, not a live person.', 'Use the real camera in front of you and try again.'], id: ['Ini tampak seperti foto atau layar, bukan orang sungguhan.', 'Gunakan kamera langsung di depan Anda lalu coba lagi.'] },
  STATIC_IMAGE: { next: 'retry', en: ['The picture did not move like a live person.', 'Try again and follow each instruction.'], id: ['Gambar tidak bergerak seperti orang sungguhan.', 'Coba lagi dan ikuti setiap petunjuk.'] },
  CHALLENGE_TIMEOUT: { next: 'retry', en: ['The time for the instruction ran out.', 'Try again: do each movement as soon as it is shown.'], id: ['Waktu untuk petunjuk habis.', 'Coba lagi: lakukan setiap gerakan segera setelah ditampilkan.'] },
  BELOW_THRESHOLD: { next: 'retry', en: ['The live-person check was not convincing enough.', 'Try again in good light, facing the camera.'], id: ['Pemeriksaan orang sungguhan kurang meyakinkan.', 'Coba lagi di tempat terang sambil menghadap kamera.'] },
  FAILED: { next: 'retry', en: ['The check did not succeed.', 'Try again.'], id: ['Pemeriksaan tidak berhasil.', 'Coba lagi.'] },
};

/** Plain outcome and guidance lines (no next step): key → [en, id]. */
export const LINES = {
  'outcome.authenticated': ['Welcome, {name}. You are verified.', 'Selamat datang, {name}. Anda terverifikasi.'],
  'outcome.authenticated_anon': ['Verified.', 'Terverifikasi.'],
  'outcome.identified': ['Recognised: {name}.', 'Dikenali: {name}.'],
  'captured.front': ['Front view captured.', 'Tampak depan terambil.'],
  'captured.left': ['Captured with your head turned to your left.', 'Terambil dengan kepala menoleh ke kiri Anda.'],
  'captured.right': ['Captured with your head turned to your right.', 'Terambil dengan kepala menoleh ke kanan Anda.'],
  'outcome.enrolled': ['Enrollment complete. Thank you.', 'Pendaftaran wajah selesai. Terima kasih.'],
  'outcome.saving': ['Saving your enrollment…', 'Menyimpan pendaftaran wajah Anda…'],
  'outcome.retrying': ['Not recognised yet. Look straight at the camera.', 'Belum dikenali. Lihat lurus ke kamera.'],
  'outcome.pin_ok': ['Verified with PIN: {name}.', 'Terverifikasi dengan PIN: {name}.'],
  'outcome.password_ok': ['Verified with password: {name}.', 'Terverifikasi dengan kata sandi: {name}.'],
  'guide.ready': ['Ready.', 'Siap.'],
  'guide.starting': ['Starting the camera…', 'Menyalakan kamera…'],
  'guide.look': ['Look at the camera and keep your face inside the oval.', 'Lihat ke kamera dan jaga wajah tetap di dalam oval.'],
  'guide.hold_still': ['Good. Hold still.', 'Bagus. Jangan bergerak.'],
  'guide.no_face': ['No face found. Look at the camera.', 'Wajah tidak ditemukan. Lihat ke kamera.'],
  'guide.stopped': ['Stopped.', 'Dihentikan.'],
  'guide.voice_on': ['Voice guidance on.', 'Panduan suara aktif.'],
  'guide.waiting_camera': ['Waiting for the camera permission…', 'Menunggu izin kamera…'],
  'guide.next_challenge': ['Well done. Next:', 'Bagus. Berikutnya:'],
  // suggestions and challenges (the server's codes)
  // Left and right are the person's own (docs/vision.md, "Pose convention"): the same on the mirrored preview.
  'do.turn_left': ['Turn your head slightly to your left.', 'Tolehkan kepala sedikit ke kiri Anda.'],
  'do.turn_right': ['Turn your head slightly to your right.', 'Tolehkan kepala sedikit ke kanan Anda.'],
  'do.look_up': ['Raise your chin a little.', 'Angkat dagu sedikit.'],
  'do.look_down': ['Lower your chin a little.', 'Turunkan dagu sedikit.'],
  'do.look_straight': ['Look straight at the camera.', 'Lihat lurus ke kamera.'],
  'do.move_closer': ['Come a little closer.', 'Mendekatlah sedikit.'],
  'do.move_back': ['Move back a little.', 'Mundurlah sedikit.'],
  'do.improve_lighting': ['More light on your face, please.', 'Tambahkan cahaya ke wajah Anda.'],
  'do.hold_still': ['Hold still.', 'Jangan bergerak.'],
  'do.center_face': ['Put your face in the middle of the oval.', 'Posisikan wajah di tengah oval.'],
  'do.open_eyes': ['Keep your eyes open.', 'Buka mata Anda.'],
  'do.blink': ['Blink slowly.', 'Kedipkan mata perlahan.'],
  'do.head_movement': ['Turn your head slowly to one side.', 'Tolehkan kepala perlahan ke satu sisi.'],
  'do.nod': ['Nod: look down, then back up.', 'Anggukkan kepala: lihat ke bawah, lalu kembali ke atas.'],
  'do.smile': ['Smile.', 'Tersenyumlah.'],
  'do.enough_frames': ['Enough good pictures. Finishing…', 'Gambar yang baik sudah cukup. Menyelesaikan…'],
  'chip.turn_left': ['Turn to your left', 'Toleh ke kiri Anda'],
  'chip.turn_right': ['Turn to your right', 'Toleh ke kanan Anda'],
  'chip.look_up': ['Chin up', 'Dagu naik'],
  'chip.look_down': ['Chin down', 'Dagu turun'],
  'chip.look_straight': ['Look straight', 'Lihat lurus'],
  'chip.move_closer': ['Closer', 'Lebih dekat'],
  'chip.move_back': ['Further back', 'Lebih jauh'],
  'chip.improve_lighting': ['More light', 'Lebih terang'],
  'chip.hold_still': ['Hold still', 'Diam'],
  'chip.center_face': ['Center your face', 'Wajah di tengah'],
  'chip.open_eyes': ['Eyes open', 'Mata terbuka'],
  'chip.blink': ['Blink', 'Berkedip'],
  'chip.head_movement': ['Turn your head', 'Tolehkan kepala'],
  'chip.nod': ['Nod', 'Mengangguk'],
  'chip.smile': ['Smile', 'Senyum'],
};

const pick = (pair) => (lang === 'id' ? pair[1] : pair[0]);
const fill = (s, vars) => (vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s);

/**
 * A plain explanation of an error code (or an error carrying `.code`) in the current language.
 * @returns {{code: string, text: string, help: string, next: string, nextLabel: string}}
 * @example explain('LIVENESS_FAILED').nextLabel // 'Try again' / 'Coba lagi'
 */
export function explain(codeOrError) {
  const code = typeof codeOrError === 'string' ? codeOrError : codeOrError?.code ?? 'INTERNAL_ERROR';
  const m = MESSAGES[code] ?? (/^HTTP_5/.test(code) ? MESSAGES.INTERNAL_ERROR : MESSAGES.FAILED);
  const [text, help] = lang === 'id' ? m.id : m.en;
  return { code, text, help, next: m.next, nextLabel: nextLabel(m.next) };
}

export const nextLabel = (next) => (NEXT[next] ? (lang === 'id' ? NEXT[next].id : NEXT[next].en) : '');

/** A guidance or outcome line by key, in the current language. Unknown keys give ''. */
export function line(key, vars) {
  const pair = LINES[key];
  return pair ? fill(pick(pair), vars) : '';
}

/** What to say for a server suggestion or challenge code (never the code itself). */
export const instruction = (code) => line(`do.${code}`) || line('do.look_straight');
export const chip = (code) => line(`chip.${code}`) || '';
