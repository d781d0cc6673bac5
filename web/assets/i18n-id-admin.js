// Indonesian for the console's administration screens: audit log, SSO applications, the manual-review
// queue, PIN/password fallbacks, and the operator's client editing and key rotation (merged into ID).
export const ADMIN_ID = {
  // audit log
  'Audit log': 'Log audit',
  'Who did what and when: sign-ins, enrollments, changes to settings and keys, access to face data. Without dates: the last 30 days.':
    'Siapa melakukan apa dan kapan: proses masuk, pendaftaran wajah, perubahan pengaturan dan kunci, akses ke data wajah. Tanpa tanggal: 30 hari terakhir.',
  Category: 'Kategori',
  Authentication: 'Autentikasi',
  Enrollment: 'Pendaftaran wajah',
  Configuration: 'Konfigurasi',
  Security: 'Keamanan',
  'Access to face data': 'Akses ke data wajah',
  'API access': 'Akses API',
  Action: 'Tindakan',
  By: 'Oleh',
  Target: 'Sasaran',
  'IP address': 'Alamat IP',
  Details: 'Rincian',
  '{n} ms': '{n} md',
  'confidence {n} %': 'keyakinan {n} %',
  'No audit entries match these filters in this period. Change the category or the dates.':
    'Tidak ada entri audit yang cocok dengan filter ini pada periode ini. Ubah kategori atau tanggalnya.',
  '{n} entry': '{n} entri',
  '{n} entries': '{n} entri',
};
